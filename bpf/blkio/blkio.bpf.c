// SPDX-License-Identifier: GPL-2.0
/* Block I/O latency, issue (block_rq_issue) to completion (block_rq_complete), charged to the
 * cgroup of the request's blkcg, not to whatever task completes it in interrupt context.
 *
 * Linux 5.11, commit a54895fa057c ("block: remove the request_queue to argument request based
 * tracepoints"): block_rq_issue lost its leading request_queue argument. The *_old programs take
 * the older signature; user space loads the one matching the kernel.
 *
 * Hybrid hosts (io controller still on cgroup v1): the request's blkcg is then a v1 blkio
 * cgroup, which no pod resolves to, and a request carries nothing of its submitter's v2 cgroup.
 * Fallback for those requests only: the v2 cgroup of the user task that inserted the request
 * into the I/O scheduler (block_rq_insert, submitter context), else of the user task current
 * when it is issued (direct dispatch without a scheduler runs in the submitter). That covers
 * direct and synchronous I/O. Requests queued by kernel threads (page-cache writeback from the
 * flusher, dispatch deferred to kblockd) have no user submitter in sight and keep their v1 id:
 * not attributed. */
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

/* Hybrid hosts only: v2 cgroup of the user task that inserted the request, by request address. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, BLKIO_MAX_INFLIGHT);
	__type(key, __u64);
	__type(value, __u64);
} submitter SEC(".maps");

static const struct blkio_cg_stats zero_stats;

#define PF_KTHREAD_ 0x00200000

/* Is the request's blkcg cgroup on a v1 hierarchy? Compared by hierarchy root with the current
 * task's v2 cgroup, whose root is always the default hierarchy. */
static __always_inline bool request_on_v1(const struct request *rq)
{
	const struct bio *bio = BPF_CORE_READ(rq, bio);
	const struct cgroup *cgrp;
	const struct task_struct *task;

	if (!bio || !bpf_core_field_exists(bio->bi_blkg))
		return false;
	cgrp = BPF_CORE_READ(bio, bi_blkg, blkcg, css.cgroup);
	if (!cgrp)
		return false;
	task = (const struct task_struct *)bpf_get_current_task();
	return BPF_CORE_READ(cgrp, root) != BPF_CORE_READ(task, cgroups, dfl_cgrp, root);
}

/* v2 cgroup of the current task when it is a user task (kernel threads act for others). */
static __always_inline __u64 current_user_cgroup(void)
{
	const struct task_struct *task = (const struct task_struct *)bpf_get_current_task();

	if (BPF_CORE_READ(task, flags) & PF_KTHREAD_)
		return 0;
	return bpf_get_current_cgroup_id();
}

static __always_inline void on_insert(struct request *rq)
{
	__u64 key = (__u64)rq, cgid;

	if (!request_on_v1(rq))
		return;
	cgid = current_user_cgroup();
	if (cgid)
		if (bpf_map_update_elem(&submitter, &key, &cgid, BPF_ANY))
			nodepack_count_map_error();
}

static __always_inline void on_issue(struct request *rq)
{
	struct blkio_start st;
	__u64 key = (__u64)rq, *sub, cgid = 0;

	st.cgroup_id = nodepack_request_cgroup_id(rq);
	if (!st.cgroup_id)
		return;
	if (request_on_v1(rq)) {
		sub = bpf_map_lookup_elem(&submitter, &key);
		if (sub) {
			cgid = *sub;
			bpf_map_delete_elem(&submitter, &key);
		} else {
			cgid = current_user_cgroup();
		}
		if (cgid)
			st.cgroup_id = cgid;
	}
	st.ts = bpf_ktime_get_ns();
	if (bpf_map_update_elem(&inflight, &key, &st, BPF_ANY))
		nodepack_count_map_error();
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
	s = nodepack_cgroup_lookup_or_init(&cg_io, &cgid, cgid, &zero_stats);
	if (s)
		nodepack_hist_record(&s->latency, delta, false);
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(blk_issue_btf, struct request *rq)
{
	on_issue(rq);
	return 0;
}

SEC("tp_btf/block_rq_insert")
int BPF_PROG(blk_insert_btf, struct request *rq)
{
	on_insert(rq);
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

SEC("raw_tp/block_rq_insert")
int BPF_PROG(blk_insert_raw, struct request *rq)
{
	on_insert(rq);
	return 0;
}

SEC("raw_tp/block_rq_insert")
int BPF_PROG(blk_insert_raw_old, struct request_queue *q, struct request *rq)
{
	on_insert(rq);
	return 0;
}

SEC("raw_tp/block_rq_complete")
int BPF_PROG(blk_complete_raw, struct request *rq)
{
	on_complete(rq);
	return 0;
}
