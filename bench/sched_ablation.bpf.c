// SPDX-License-Identifier: GPL-2.0
/* What one step of the sched switch program costs, for bench_bpf_overhead --ablation: each
 * program below is a tp_btf/sched_switch program doing one thing only, attached alone for one
 * phase of the same load, and timed by the kernel's run-time statistics like the collector.
 * The difference to `empty` is what the step costs per switch on this host. Not part of the
 * product: the collector's programs are in bpf/sched/sched.bpf.c. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

#define ABLATION_ENTRIES 10240

struct counter {
	__u64 n;
	__u64 pad[3]; /* the collector's values are larger; one cache line here is enough */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct counter);
} abl_array SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct counter);
} abl_percpu_array SEC(".maps");

#define HASH_MAP(name, kind)                            \
	struct {                                        \
		__uint(type, kind);                     \
		__uint(max_entries, ABLATION_ENTRIES);  \
		__type(key, __u64);                     \
		__type(value, struct counter);          \
	} name SEC(".maps")

HASH_MAP(abl_hash, BPF_MAP_TYPE_HASH);
HASH_MAP(abl_percpu_hash, BPF_MAP_TYPE_PERCPU_HASH);
HASH_MAP(abl_lru_hash, BPF_MAP_TYPE_LRU_HASH);
HASH_MAP(abl_lru_percpu_hash, BPF_MAP_TYPE_LRU_PERCPU_HASH);

struct {
	__uint(type, BPF_MAP_TYPE_CGRP_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct counter);
} abl_cgrp SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct counter);
} abl_task SEC(".maps");

static const struct counter zero;

/* Written so that the compiler keeps what a program reads. */
__u64 sink;

static __always_inline __u64 cgroup_id_of(struct task_struct *t)
{
	return t->cgroups->dfl_cgrp->kn->id;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(abl_empty, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(abl_ktime, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	sink = bpf_ktime_get_ns();
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(abl_current_cgroup_id, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	sink = bpf_get_current_cgroup_id();
	return 0;
}

/* The same id read by BTF pointer chasing: next->cgroups->dfl_cgrp->kn->id, no helper. */
SEC("tp_btf/sched_switch")
int BPF_PROG(abl_btf_cgroup_id, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	sink = cgroup_id_of(next);
	return 0;
}

/* What sched_info reads besides the map: next->sched_info.last_queued and the run queue clock. */
SEC("tp_btf/sched_switch")
int BPF_PROG(abl_btf_rq_clock, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	sink = next->se.cfs_rq->rq->clock - next->sched_info.last_queued;
	return 0;
}

/* The stamp alone, without the run queue's clock. (The per-CPU `runqueues` variable as a typed
 * ksym would spare next->se.cfs_rq->rq, but this kernel has no kallsyms of data: the load fails
 * with "ldimm64 failed to find the address for kernel symbol 'runqueues'".) */
SEC("tp_btf/sched_switch")
int BPF_PROG(abl_btf_last_queued, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	sink = next->sched_info.last_queued;
	return 0;
}

/* The run queue's clock alone, reached through prev (the task leaving this CPU) instead. */
SEC("tp_btf/sched_switch")
int BPF_PROG(abl_btf_rq_clock_prev, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	sink = prev->se.cfs_rq->rq->clock - next->sched_info.last_queued;
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(abl_cgrp_storage_get, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	struct counter *c = bpf_cgrp_storage_get(&abl_cgrp, next->cgroups->dfl_cgrp, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);

	if (c)
		c->n++;
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(abl_task_storage_get, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	struct counter *c = bpf_task_storage_get(&abl_task, next, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);

	if (c)
		c->n++;
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(abl_array_lookup, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u32 key = 0;
	struct counter *c = bpf_map_lookup_elem(&abl_array, &key);

	if (c)
		__sync_fetch_and_add(&c->n, 1); /* shared by every CPU */
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(abl_percpu_array_lookup, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u32 key = 0;
	struct counter *c = bpf_map_lookup_elem(&abl_percpu_array, &key);

	if (c)
		c->n++;
	return 0;
}

/* Hash maps keyed by next's cgroup id (read by BTF), entry created on a miss, as the collector. */
static __always_inline void count_in(void *map, struct task_struct *t)
{
	__u64 id = cgroup_id_of(t);
	struct counter *c = bpf_map_lookup_elem(map, &id);

	if (c)
		c->n++;
	else
		bpf_map_update_elem(map, &id, &zero, BPF_NOEXIST);
}

#define HASH_PROGRAM(name, map)                                                                   \
	SEC("tp_btf/sched_switch")                                                                \
	int BPF_PROG(name, bool preempt, struct task_struct *prev, struct task_struct *next)     \
	{                                                                                         \
		count_in(&map, next);                                                             \
		return 0;                                                                         \
	}

HASH_PROGRAM(abl_hash_lookup, abl_hash)
HASH_PROGRAM(abl_percpu_hash_lookup, abl_percpu_hash)
HASH_PROGRAM(abl_lru_hash_lookup, abl_lru_hash)
HASH_PROGRAM(abl_lru_percpu_hash_lookup, abl_lru_percpu_hash)
