// SPDX-License-Identifier: GPL-2.0
/* Block I/O latency, issue (block_rq_issue) to completion (block_rq_complete), charged to the
 * cgroup of the request's blkcg, not to whatever task completes it in interrupt context.
 *
 * Linux 5.11, commit a54895fa057c ("block: remove the request_queue to argument request based
 * tracepoints"): block_rq_issue lost its leading request_queue argument. The *_old programs take
 * the older signature; user space loads the one matching the kernel. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "core_fixes.bpf.h"
#include "hist.bpf.h"
#include "maps.bpf.h"
#include "blkio.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BLKIO_MAX_INFLIGHT);
	__type(key, __u64);
	__type(value, struct blkio_start);
} inflight SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, BLKIO_MAX_CGROUPS);
	__type(key, __u64);
	__type(value, struct blkio_cg_stats);
} cg_io SEC(".maps");

static const struct blkio_cg_stats zero_stats;

static __always_inline void on_issue(struct request *rq)
{
	struct blkio_start st;
	__u64 key = (__u64)rq;

	st.cgroup_id = nodepack_request_cgroup_id(rq);
	if (!st.cgroup_id)
		return;
	st.ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&inflight, &key, &st, BPF_ANY);
}

static __always_inline void on_complete(struct request *rq)
{
	__u64 key = (__u64)rq, now, delta;
	struct blkio_start *st = bpf_map_lookup_elem(&inflight, &key);
	struct blkio_cg_stats *s;
	__u64 cgid;

	if (!st)
		return;
	now = bpf_ktime_get_ns();
	delta = now > st->ts ? now - st->ts : 0;
	cgid = st->cgroup_id;
	bpf_map_delete_elem(&inflight, &key);
	s = nodepack_lookup_or_init(&cg_io, &cgid, &zero_stats);
	if (s)
		nodepack_hist_record(&s->latency, delta, false);
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(blk_issue_btf, struct request *rq)
{
	on_issue(rq);
	return 0;
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(blk_complete_btf, struct request *rq)
{
	on_complete(rq);
	return 0;
}

SEC("raw_tp/block_rq_issue")
int BPF_PROG(blk_issue_raw, struct request *rq)
{
	on_issue(rq);
	return 0;
}

SEC("raw_tp/block_rq_issue")
int BPF_PROG(blk_issue_raw_old, struct request_queue *q, struct request *rq)
{
	on_issue(rq);
	return 0;
}

SEC("raw_tp/block_rq_complete")
int BPF_PROG(blk_complete_raw, struct request *rq)
{
	on_complete(rq);
	return 0;
}
