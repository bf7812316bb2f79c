/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Map helpers for BPF programs. */
#pragma once

#include <bpf/bpf_helpers.h>

/* Inserts that failed because a map was full. Every object that includes this header has it;
 * user space reads it by name and exports nodepack_bpf_map_update_errors_total{collector}. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} map_errors SEC(".maps");

static __always_inline void nodepack_count_map_error(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&map_errors, &zero);

	if (n)
		*n += 1; /* per-CPU: no other CPU writes this slot */
}

/* Cgroups of pods the agent's filters leave out (--kpod.namespaces, --kpod.exclude-namespaces,
 * --kpod.label-selector). User space makes one map per process and every object shares it
 * (bpf/skip_cgroups.hpp); only its keys matter. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u8);
} skip_cgroups SEC(".maps");

/* Looks `key` up, inserting `init` first when absent. Returns NULL only when the map is full
 * and cannot evict (non-LRU maps); that failure is counted. */
static __always_inline void *nodepack_lookup_or_init(void *map, const void *key, const void *init)
{
	void *val;
	long err;

	val = bpf_map_lookup_elem(map, key);
	if (val)
		return val;
	err = bpf_map_update_elem(map, key, init, BPF_NOEXIST);
	if (err && err != -17 /* EEXIST: another CPU won the race */) {
		nodepack_count_map_error();
		return NULL;
	}
	return bpf_map_lookup_elem(map, key);
}

/* nodepack_lookup_or_init for a map whose entries belong to cgroup `cgid`: a cgroup on the skip
 * list gets no entry (returns NULL). Entries that exist are found first, so a tracked cgroup pays
 * nothing extra; the skip list is asked only on the way to an insert. */
static __always_inline void *nodepack_cgroup_lookup_or_init(void *map, const void *key, __u64 cgid, const void *init)
{
	void *val = bpf_map_lookup_elem(map, key);

	if (val)
		return val;
	if (bpf_map_lookup_elem(&skip_cgroups, &cgid))
		return NULL;
	return nodepack_lookup_or_init(map, key, init);
}
