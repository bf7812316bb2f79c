// SPDX-License-Identifier: GPL-2.0
/* OOM kills, charged to the victim's cgroup (not to the task whose allocation triggered the OOM
 * killer). Needs the mark_victim tracepoint that passes the victim task; see
 * nodepack_mark_victim_has_task in user space (feature "mark_victim:task"). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "core_fixes.bpf.h"
#include "maps.bpf.h"
#include "oom.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, OOM_MAX_CGROUPS);
	__type(key, __u64);
	__type(value, struct oom_cg_stats);
} kills SEC(".maps");

static const struct oom_cg_stats zero_stats;

static __always_inline void on_victim(struct task_struct *victim)
{
	__u64 cgid = nodepack_task_cgroup_id(victim);
	struct oom_cg_stats *st = nodepack_cgroup_lookup_or_init(&kills, &cgid, cgid, &zero_stats);

	if (st)
		__sync_fetch_and_add(&st->kills, 1);
}

SEC("tp_btf/mark_victim")
int BPF_PROG(mark_victim_btf, struct task_struct *victim)
{
	on_victim(victim);
	return 0;
}

SEC("raw_tp/mark_victim")
int BPF_PROG(mark_victim_raw, struct task_struct *victim)
{
	on_victim(victim);
	return 0;
}
