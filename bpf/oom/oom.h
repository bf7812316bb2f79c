/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* oom collector: OOM kills per cgroup v2 of the victim. */
#pragma once

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define OOM_MAX_CGROUPS 10240

/* Value of the `kills` map, keyed by cgroup v2 id (__u64). __u64 counters only: user space sums
 * values word by word. */
struct oom_cg_stats {
	__u64 kills;
};
