// SPDX-License-Identifier: GPL-2.0
/* Process exec/fork/exit per cgroup v2, charged to the task the event concerns: the exec'ing
 * task, the new child, the exiting process. tp_btf with raw_tp twins, as in sched. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "core_fixes.bpf.h"
#include "maps.bpf.h"
#include "proc.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, PROC_MAX_CGROUPS);
	__type(key, __u64);
	__type(value, struct proc_cg_counts);
} cg_counts SEC(".maps");

static const struct proc_cg_counts zero_counts;

static __always_inline struct proc_cg_counts *counts_of(struct task_struct *task)
{
	__u64 cgid = nodepack_task_cgroup_id(task);

	return nodepack_cgroup_lookup_or_init(&cg_counts, &cgid, cgid, &zero_counts);
}

static __always_inline bool is_process(struct task_struct *task)
{
	return BPF_CORE_READ(task, pid) == BPF_CORE_READ(task, tgid);
}

static __always_inline void on_exec(struct task_struct *p)
{
	struct proc_cg_counts *c = counts_of(p);

	if (c)
		c->execs++;
}

static __always_inline void on_fork(struct task_struct *child)
{
	struct proc_cg_counts *c;

	if (!is_process(child))
		return; /* a new thread */
	c = counts_of(child);
	if (c)
		c->forks++;
}

static __always_inline void on_exit(struct task_struct *p)
{
	struct proc_cg_counts *c;

	if (!is_process(p))
		return; /* a thread; the process exits when its leader does */
	c = counts_of(p);
	if (c)
		c->exits++;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(proc_exec_btf, struct task_struct *p)
{
	on_exec(p);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(proc_fork_btf, struct task_struct *parent, struct task_struct *child)
{
	on_fork(child);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(proc_exit_btf, struct task_struct *p)
{
	on_exit(p);
	return 0;
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(proc_exec_raw, struct task_struct *p)
{
	on_exec(p);
	return 0;
}

SEC("raw_tp/sched_process_fork")
int BPF_PROG(proc_fork_raw, struct task_struct *parent, struct task_struct *child)
{
	on_fork(child);
	return 0;
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(proc_exit_raw, struct task_struct *p)
{
	on_exit(p);
	return 0;
}
