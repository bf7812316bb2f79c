/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Map helpers for BPF programs. */
#pragma once

#include <bpf/bpf_helpers.h>

/* Marks an update failure; user space exports the count as a map-health metric. */
#define NODEPACK_MAP_ERR_SLOTS 8

/* Looks `key` up, inserting `init` first when absent. Returns NULL only when the map is full
 * and cannot evict (non-LRU maps). */
static __always_inline void *nodepack_lookup_or_init(void *map, const void *key, const void *init)
{
	void *val;
	long err;

	val = bpf_map_lookup_elem(map, key);
	if (val)
		return val;
	err = bpf_map_update_elem(map, key, init, BPF_NOEXIST);
	if (err && err != -17 /* EEXIST: another CPU won the race */)
		return NULL;
	return bpf_map_lookup_elem(map, key);
}
