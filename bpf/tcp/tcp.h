/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* tcp collector: per-cgroup TCP counters and RTT, charged through the socket's cgroup. */
#pragma once

#include "nodepack_hist.h"

#define TCP_MAX_CGROUPS 4096 /* cgroups at once; see "Map sizes" in bpf/README.md */

/* Value of the per-CPU `cg_tcp` map, keyed by cgroup v2 id (__u64). */
struct tcp_cg_stats {
	__u64 retransmits;    /* tcp:tcp_retransmit_skb */
	__u64 connections;    /* sockets entering ESTABLISHED (active and passive opens) */
	__u64 bytes_sent;     /* TCP payload bytes leaving the pod's sockets (cgroup_skb egress) */
	__u64 bytes_received; /* TCP payload bytes delivered to the pod's sockets (cgroup_skb ingress) */
	struct nodepack_hist rtt; /* smoothed RTT at each segment received on an established socket, ns */
};
