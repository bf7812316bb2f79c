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

/* The collector's last step: the wait into a per-CPU log2 histogram, with the collector's log2
 * (a compare and a branch per halving) and with one without branches (smear the top bit down,
 * count the bits), to tell whether the log2's data-dependent branches cost anything here. */
#include "hist.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nodepack_hist);
} abl_hist SEC(".maps");

static __always_inline __u32 log2_without_branches(__u64 v)
{
	v |= v >> 1;
	v |= v >> 2;
	v |= v >> 4;
	v |= v >> 8;
	v |= v >> 16;
	v |= v >> 32;
	v >>= 1; /* floor(log2) bits set, 0 for 0 and 1 */
	v = v - ((v >> 1) & 0x5555555555555555ULL);
	v = (v & 0x3333333333333333ULL) + ((v >> 2) & 0x3333333333333333ULL);
	v = (v + (v >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
	return (v * 0x0101010101010101ULL) >> 56;
}

static __always_inline struct nodepack_hist *abl_hist_value(void)
{
	__u32 key = 0;

	return bpf_map_lookup_elem(&abl_hist, &key);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(abl_hist_log2_branches, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	struct nodepack_hist *h = abl_hist_value();
	__u64 now = next->se.cfs_rq->rq->clock, queued = next->sched_info.last_queued;

	if (h && queued)
		nodepack_hist_record(h, now > queued ? now - queued : 0, false);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(abl_hist_log2_no_branches, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	struct nodepack_hist *h = abl_hist_value();
	__u64 now = next->se.cfs_rq->rq->clock, queued = next->sched_info.last_queued, wait;

	if (!h || !queued)
		return 0;
	wait = now > queued ? now - queued : 0;
	nodepack_hist_record_slot(h, log2_without_branches(wait), wait, false);
	return 0;
}

/* How the collector finds a pod cgroup's per-CPU slot, against a lookup without a helper call:
 * `slot_by_storage` is sched_switch_slots' path (the cgroup's own storage holds the index, then
 * a per-CPU array); `slot_by_id` indexes the per-CPU array by the low bits of next's cgroup id,
 * read by BTF, and checks a tag in the value (a collision would fall back to the hash). */
#define ABL_SLOTS 2048

struct tagged_counter {
	__u64 tag;
	__u64 n;
	__u64 pad[2];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ABL_SLOTS);
	__type(key, __u32);
	__type(value, struct tagged_counter);
} abl_slots SEC(".maps");

struct slot_index {
	__u32 index;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_CGRP_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct slot_index);
} abl_slot_index SEC(".maps");

SEC("tp_btf/sched_switch")
int BPF_PROG(abl_slot_by_storage, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	struct slot_index *s =
		bpf_cgrp_storage_get(&abl_slot_index, next->cgroups->dfl_cgrp, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	struct tagged_counter *c;
	__u32 index;

	if (!s)
		return 0;
	index = s->index;
	c = bpf_map_lookup_elem(&abl_slots, &index);
	if (c)
		c->n++;
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(abl_slot_by_id, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u64 id = cgroup_id_of(next);
	__u32 index = id & (ABL_SLOTS - 1);
	struct tagged_counter *c = bpf_map_lookup_elem(&abl_slots, &index);

	if (!c)
		return 0;
	if (c->tag == id)
		c->n++;
	else
		c->tag = id; /* the bench's stand-in for user space tagging the slot */
	return 0;
}

/* The same through a shared, read-only directory: the low bits of the id pick an entry holding
 * the owner's id and a compact index into the per-CPU array (user space keeps the used indices
 * dense, so a scrape reads only a prefix of the array). */
struct slot_entry {
	__u64 id;
	__u32 index;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, ABL_SLOTS);
	__type(key, __u32);
	__type(value, struct slot_entry);
} abl_slot_directory SEC(".maps");

SEC("tp_btf/sched_switch")
int BPF_PROG(abl_slot_by_directory, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u64 id = cgroup_id_of(next);
	__u32 key = id & (ABL_SLOTS - 1), index;
	struct slot_entry *e = bpf_map_lookup_elem(&abl_slot_directory, &key);
	struct tagged_counter *c;

	if (!e)
		return 0;
	if (e->id != id) { /* the bench's stand-in for user space filling the entry */
		e->id = id;
		e->index = key;
		return 0;
	}
	index = e->index;
	c = bpf_map_lookup_elem(&abl_slots, &index);
	if (c)
		c->n++;
	return 0;
}
