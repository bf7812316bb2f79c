/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* syscall collector: count, errors and latency per (cgroup v2, tracked syscall). */
#pragma once

#include "nodepack_hist.h"

#define SYSCALL_MAX_NR 512 /* syscall numbers at or above this are never tracked */
#define SYSCALL_MAX_KEYS 16384
#define SYSCALL_MAX_INFLIGHT 16384

struct syscall_key {
	__u64 cgroup_id;
	__u32 nr;
	__u32 _pad;
};

/* Value of the per-CPU `stats` map. */
struct syscall_stats {
	__u64 errors; /* returned a negative errno */
	struct nodepack_hist latency; /* entry to exit, ns; latency.count is the call count */
};

/* Value of the `inflight` map, keyed by tid. */
struct syscall_start {
	__u64 ts;
	__u32 nr;
	__u32 _pad;
};
