/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* sched collector: what the BPF side writes and user space reads. */
#pragma once

#include "nodepack_hist.h"

#define SCHED_MAX_CGROUPS 4096 /* cgroups at once; see "Map sizes" in bpf/README.md */
#define SCHED_MAX_WAITING 16384
#define SCHED_MAX_SLOTS 2048 /* per-CPU array slots for pod cgroups (see sched.bpf.c); a power of two */

/* Value of the per-CPU `cg_stats` map, keyed by cgroup v2 id (__u64). */
struct sched_cg_stats {
	struct nodepack_hist runq;  /* run-queue wait of tasks in this cgroup, ns */
	__u64 context_switches;     /* times a task of this cgroup was switched out */
	__u64 owner;                /* in `cg_slots`: the cgroup id the slot belongs to (0: free);
				     * unused in `cg_stats`; also keeps the value 16-byte sized */
};
