/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* blkio collector: block request latency per cgroup (the request's blkcg). */
#pragma once

#include "nodepack_hist.h"

#define BLKIO_MAX_CGROUPS 4096 /* cgroups at once; see "Map sizes" in bpf/README.md */
#define BLKIO_MAX_INFLIGHT 16384

/* Value of the `inflight` map, keyed by the request's address. */
struct blkio_start {
	__u64 ts;
	__u64 cgroup_id;
};

/* Value of the per-CPU `cg_io` map, keyed by cgroup id (__u64). */
struct blkio_cg_stats {
	struct nodepack_hist latency; /* issue to completion, ns */
};
