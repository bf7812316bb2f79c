// SPDX-License-Identifier: GPL-2.0
/* Run-queue latency and context switches per cgroup v2.
 *
 * Run-queue latency follows bcc's runqlat: a task's wait starts when it is woken (sched_wakeup,
 * sched_wakeup_new) or preempted while still runnable (sched_switch with prev still TASK_RUNNING)
 * and ends when sched_switch picks it. The wait is charged to the cgroup of the task that waited,
 * read from the task itself, never from whatever task is current.
 *
 * Each hook exists twice: tp_btf (BTF-typed, cheapest) and raw_tp (any kernel with raw
 * tracepoints). User space turns autoload off for the variant the kernel cannot take. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "core_fixes.bpf.h"
#include "hist.bpf.h"
#include "maps.bpf.h"
#include "sched.h"

#define TASK_RUNNING 0

char LICENSE[] SEC("license") = "GPL";

/* Tunables, set between open and load. */
const volatile bool filter_cgroups = false; /* count only cgroups present in `tracked` */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SCHED_MAX_WAITING);
	__type(key, __u32);   /* tid */
	__type(value, __u64); /* enqueue time, ns */
} waiting SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, SCHED_MAX_CGROUPS);
	__type(key, __u64); /* cgroup v2 id */
	__type(value, struct sched_cg_stats);
} cg_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SCHED_MAX_CGROUPS);
	__type(key, __u64);
	__type(value, __u8);
} tracked SEC(".maps");

/* Zero value used to create entries; per-CPU maps copy it to every CPU. */
static const struct sched_cg_stats zero_stats;

static __always_inline bool cgroup_wanted(__u64 cgid)
{
	if (!filter_cgroups)
		return true;
	return bpf_map_lookup_elem(&tracked, &cgid) != NULL;
}

static __always_inline void wait_begins(struct task_struct *p)
{
	__u32 tid = BPF_CORE_READ(p, pid);
	__u64 ts;

	if (!tid)
		return; /* idle task */
	ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&waiting, &tid, &ts, BPF_ANY);
}

static __always_inline void on_switch(struct task_struct *prev, struct task_struct *next)
{
	struct sched_cg_stats *st;
	__u64 cgid, *tsp, now, delta;
	__u32 tid;

	/* Switch count: the task leaving the CPU; current is still prev here. */
	cgid = bpf_get_current_cgroup_id();
	if (cgroup_wanted(cgid)) {
		st = nodepack_lookup_or_init(&cg_stats, &cgid, &zero_stats);
		if (st)
			st->context_switches++;
	}

	/* A preempted task is still runnable: its next wait starts now. */
	if (nodepack_task_state(prev) == TASK_RUNNING)
		wait_begins(prev);

	tid = BPF_CORE_READ(next, pid);
	tsp = bpf_map_lookup_elem(&waiting, &tid);
	if (!tsp)
		return; /* wait began before we attached */
	now = bpf_ktime_get_ns();
	delta = now > *tsp ? now - *tsp : 0;
	bpf_map_delete_elem(&waiting, &tid);

	cgid = nodepack_task_cgroup_id(next);
	if (!cgroup_wanted(cgid))
		return;
	st = nodepack_lookup_or_init(&cg_stats, &cgid, &zero_stats);
	if (st)
		nodepack_hist_record(&st->runq, delta, false);
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(sched_wakeup_btf, struct task_struct *p)
{
	wait_begins(p);
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(sched_wakeup_new_btf, struct task_struct *p)
{
	wait_begins(p);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch_btf, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	on_switch(prev, next);
	return 0;
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(sched_wakeup_raw, struct task_struct *p)
{
	wait_begins(p);
	return 0;
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(sched_wakeup_new_raw, struct task_struct *p)
{
	wait_begins(p);
	return 0;
}

SEC("raw_tp/sched_switch")
int BPF_PROG(sched_switch_raw, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	on_switch(prev, next);
	return 0;
}
