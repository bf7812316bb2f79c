/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* oom collector: OOM kills per cgroup v2 of the victim. */
#pragma once

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Cgroups with an OOM kill not yet read after their removal: entries of removed cgroups are
 * deleted at every scrape, so this bounds cgroups alive at once that had a kill, not kills. Kept
 * small because every scrape reads the map whole, and a hash map is walked bucket by bucket
 * (max_entries rounded up to a power of two) however few entries it holds. A kill that finds
 * the map full is counted in nodepack_bpf_map_update_errors_total. */
#define OOM_MAX_CGROUPS 1024

/* Value of the `kills` map, keyed by cgroup v2 id (__u64). __u64 counters only: user space sums
 * values word by word. */
struct oom_cg_stats {
	__u64 kills;
};
