/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* proc collector: process lifecycle counts per cgroup v2. */
#pragma once

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define PROC_MAX_CGROUPS 4096 /* cgroups at once; see "Map sizes" in bpf/README.md */

/* Value of the per-CPU `cg_counts` map, keyed by cgroup v2 id (__u64). */
struct proc_cg_counts {
	__u64 execs; /* successful execve/execveat */
	__u64 forks; /* new processes (not threads) */
	__u64 exits; /* processes (thread-group leaders) that exited */
	__u64 _pad;
};
