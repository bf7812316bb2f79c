/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* tcpdrop collector: packets of TCP sockets the kernel dropped, per cgroup v2 of the socket. */
#pragma once

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define TCPDROP_MAX_CGROUPS 4096 /* cgroups at once; see "Map sizes" in bpf/README.md */

/* Value of the per-CPU `cg_drops` map, keyed by cgroup v2 id (__u64). */
struct tcpdrop_cg_stats {
	__u64 drops;
};
