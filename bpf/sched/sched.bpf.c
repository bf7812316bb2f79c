// SPDX-License-Identifier: GPL-2.0
/* Run-queue latency and context switches per cgroup v2.
 *
 * Run-queue latency follows bcc's runqlat: a task's wait starts when it is woken (sched_wakeup,
 * sched_wakeup_new) or preempted (sched_switch with `preempt` set or prev still TASK_RUNNING)
 * and ends when sched_switch picks it. The wait is charged to the cgroup of the task that waited,
 * read from the task itself, never from whatever task is current.
 *
 * Each hook exists twice: tp_btf (BTF-typed) and raw_tp (any kernel with raw tracepoints).
 * User space turns autoload off for the variant the kernel cannot take.
 *
 * Cheapest of all, and preferred where the kernel keeps schedstat-style run-queue timestamps
 * (CONFIG_SCHED_INFO, live since Linux 5.14 without delay accounting or schedstats switched on):
 * sched_switch_info alone, no wake-up programs, no clock read. The
 * scheduler itself stamps next->sched_info.last_queued with its run-queue clock when the task is
 * enqueued (wake-up, new task, or a running task switched out); at sched_switch the run queue's
 * clock has just been updated under its lock, so rq->clock - last_queued is the wait the kernel
 * is about to add to the task's run_delay. Waits split by a migration count only from the last
 * enqueue (on the new CPU). One case the scheduler does not stamp: a task preempted after it
 * set a sleeping state (on its way into a sleep, or woken again before it got off the CPU) stays
 * queued but unstamped; like runqlat (through `preempt`) we stamp it ourselves, in task storage
 * with the run queue's clock, tagged with the task's switch-in count (sched_info.pcount) so a
 * stamp overtaken by a kernel one is never used. Only that rare path touches task storage.
 * Context switches are counted when a task
 * is switched in, one lookup per switch instead of two; every switch-in is followed by a
 * switch-out, so per cgroup the count differs from switch-outs only by the tasks on a CPU now.
 *
 * sched_switch_slots is the same with a faster home for pod cgroups: the low bits of the task's
 * cgroup id index a per-CPU array (`cg_slots`), and user space writes the owning cgroup's id
 * into the slot of each pod cgroup (`owner`, on every CPU); the program uses the slot when the
 * owner is the task's cgroup, instead of hashing the cgroup id into `cg_stats` (a cache miss on
 * every switch) or asking the cgroup's own storage for an index (a helper call, 3-5 ns more:
 * bench/README.md). Cgroups without a slot (started since the last scrape, sharing their low
 * bits with a pod cgroup that has the slot, or the node's own) go to `cg_stats` as before; every
 * event lands in exactly one of the two and user space adds them up. A slot is only handed to a
 * new owner after the cgroup that had it is gone, so its events never land in another's. */
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

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SCHED_MAX_WAITING);
	__type(key, __u32);   /* tid */
	__type(value, __u64); /* enqueue time, ns */
} waiting SEC(".maps");

/* tp_btf programs keep the enqueue time in task-local storage (Linux 5.11+ for tracing
 * programs): no hashing, no shared buckets, freed with the task. raw_tp programs cannot pass a
 * task to the storage helpers and use `waiting`; user space creates only the map it needs. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} task_enqueued SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, SCHED_MAX_CGROUPS);
	__type(key, __u64); /* cgroup v2 id */
	__type(value, struct sched_cg_stats);
} cg_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SCHED_MAX_SLOTS);
	__type(key, __u32);
	__type(value, struct sched_cg_stats);
} cg_slots SEC(".maps");

/* Which slot a cgroup id has: its low bits. User space sets it to the array's size (a power of
 * two, smaller where the per-CPU budget shrank the array) less one. */
const volatile __u32 slot_mask = SCHED_MAX_SLOTS - 1;

/* Zero value used to create entries; per-CPU maps copy it to every CPU. */
static const struct sched_cg_stats zero_stats;

/* `btf` is a constant at every call site: tp_btf programs read task fields with direct loads,
 * raw_tp programs through bpf_probe_read_kernel. */
static __always_inline void wait_begins(struct task_struct *p, bool btf)
{
	__u32 tid = btf ? p->pid : BPF_CORE_READ(p, pid);
	__u64 ts, *slot;

	if (!tid)
		return; /* idle task */
	ts = bpf_ktime_get_ns();
	if (btf) {
		slot = bpf_task_storage_get(&task_enqueued, p, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (slot)
			*slot = ts;
		return;
	}
	if (bpf_map_update_elem(&waiting, &tid, &ts, BPF_ANY))
		nodepack_count_map_error();
}

/* Takes the enqueue time of `p` (0 when its wait began before we attached). */
static __always_inline __u64 wait_ends(struct task_struct *p, bool btf)
{
	__u64 *slot, ts;
	__u32 tid;

	if (btf) {
		slot = bpf_task_storage_get(&task_enqueued, p, 0, 0);
		if (!slot)
			return 0;
		ts = *slot;
		*slot = 0;
		return ts;
	}
	tid = BPF_CORE_READ(p, pid);
	slot = bpf_map_lookup_elem(&waiting, &tid);
	if (!slot)
		return 0;
	ts = *slot;
	bpf_map_delete_elem(&waiting, &tid);
	return ts;
}

/* Our own stamps for preempted tasks in a sleeping state (see above). */
struct preempted_stamp {
	__u64 clock;  /* run queue clock at preemption */
	__u64 pcount; /* sched_info.pcount then: valid only until the task runs again */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct preempted_stamp);
} preempted SEC(".maps");

static __always_inline int on_switch_info(bool preempt, struct task_struct *prev, struct task_struct *next, bool slots)
{
	const struct rq *rq;
	struct sched_cg_stats *st = NULL;
	struct preempted_stamp *ps;
	__u64 queued, now, cgid;

	if (!bpf_core_field_exists(next->sched_info.last_queued) || !bpf_core_field_exists(next->se.cfs_rq->rq))
		return 0;
	if (preempt && prev->pid && nodepack_task_state_btf(prev) != TASK_RUNNING) {
		ps = bpf_task_storage_get(&preempted, prev, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (ps) {
			ps->clock = prev->se.cfs_rq->rq->clock;
			ps->pcount = prev->sched_info.pcount;
		}
	}
	if (!next->pid)
		return 0; /* the idle task */
	queued = next->sched_info.last_queued;
	if (!queued) {
		ps = bpf_task_storage_get(&preempted, next, 0, 0);
		if (ps && ps->pcount == next->sched_info.pcount)
			queued = ps->clock;
	}
	cgid = nodepack_task_cgroup_id_btf(next);
	if (slots) {
		__u32 index = cgid & slot_mask;

		st = bpf_map_lookup_elem(&cg_slots, &index);
		if (st && st->owner != cgid)
			st = NULL;
	}
	if (!st) {
		st = nodepack_cgroup_lookup_or_init(&cg_stats, &cgid, cgid, &zero_stats);
		if (!st)
			return 0;
	}
	st->context_switches++;
	if (!queued)
		return 0; /* not stamped (see above) */
	/* This CPU's run queue: a task's se.cfs_rq is always on the task's CPU (set_task_rq(), for
	 * every scheduling class), and next is about to run here. (The per-CPU `runqueues` symbol
	 * would do too, but needs kallsyms of data, often not built in.) */
	rq = next->se.cfs_rq->rq;
	now = rq->clock;
	nodepack_hist_record(&st->runq, now > queued ? now - queued : 0, false);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch_info, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return on_switch_info(preempt, prev, next, false);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch_slots, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return on_switch_info(preempt, prev, next, true);
}

static __always_inline void on_switch(bool preempt, struct task_struct *prev, struct task_struct *next,
				      bool btf)
{
	struct sched_cg_stats *st;
	__u64 cgid, start, now, delta;

	/* Switch count: the task leaving the CPU; current is still prev here. */
	cgid = bpf_get_current_cgroup_id();
	st = nodepack_cgroup_lookup_or_init(&cg_stats, &cgid, cgid, &zero_stats);
	if (st)
		st->context_switches++;

	/* A preempted task is still runnable: its next wait starts now. That includes a task
	 * preempted while on its way to sleep (state already set, still on the run queue): its
	 * state is not TASK_RUNNING but it gets the CPU back without a wake-up, so `preempt`
	 * decides. */
	if (preempt || (btf ? nodepack_task_state_btf(prev) : nodepack_task_state(prev)) == TASK_RUNNING)
		wait_begins(prev, btf);

	start = wait_ends(next, btf);
	if (!start)
		return; /* wait began before we attached */
	now = bpf_ktime_get_ns();
	delta = now > start ? now - start : 0;

	cgid = btf ? nodepack_task_cgroup_id_btf(next) : nodepack_task_cgroup_id(next);
	st = nodepack_cgroup_lookup_or_init(&cg_stats, &cgid, cgid, &zero_stats);
	if (st)
		nodepack_hist_record(&st->runq, delta, false);
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(sched_wakeup_btf, struct task_struct *p)
{
	wait_begins(p, true);
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(sched_wakeup_new_btf, struct task_struct *p)
{
	wait_begins(p, true);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch_btf, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	on_switch(preempt, prev, next, true);
	return 0;
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(sched_wakeup_raw, struct task_struct *p)
{
	wait_begins(p, false);
	return 0;
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(sched_wakeup_new_raw, struct task_struct *p)
{
	wait_begins(p, false);
	return 0;
}

SEC("raw_tp/sched_switch")
int BPF_PROG(sched_switch_raw, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	on_switch(preempt, prev, next, false);
	return 0;
}
