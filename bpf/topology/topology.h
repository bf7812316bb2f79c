/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* topology collector: connections per (cgroup v2 of the socket, direction, protocol, peer, port). */
#pragma once

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Distinct (cgroup, direction, protocol, peer, port) edges the kernel keeps; LRU, so a full map evicts the
 * least recently counted edge (user space has already folded what it read of it). */
#define TOPOLOGY_MAX_EDGES 16384

/* TCP: active open SYN_SENT -> ESTABLISHED (or -> CLOSE: a failure). UDP: a connect(), or the
 * first datagram a socket sends to a peer it has not exchanged any with lately. */
#define TOPOLOGY_OUTBOUND 1
/* TCP: passive open SYN_RECV -> ESTABLISHED. UDP: the first datagram a socket receives from a
 * peer it has not exchanged any with lately. */
#define TOPOLOGY_INBOUND 2

/* UDP peers a socket remembers (its last ones, in its socket storage): a datagram to or from
 * one of them is not a new flow. */
#define TOPOLOGY_UDP_RECENT_PEERS 4

/* Key of the `edges` map: 32 bytes, explicit padding (zeroed: the whole key is hashed). */
struct topology_key {
	__u64 cgroup_id;  /* TCP: the socket's cgroup v2; UDP: the calling task's (topology.bpf.c) */
	__u8 addr[16];    /* peer address: IPv4 in the first 4 bytes (family AF_INET), else IPv6 */
	__u16 port;       /* host order; outbound: the remote port, inbound: the local (listening) port */
	__u8 direction;   /* TOPOLOGY_OUTBOUND or TOPOLOGY_INBOUND */
	__u8 protocol;    /* IPPROTO_TCP (6) or IPPROTO_UDP (17) */
	__u8 family;      /* AF_INET (2) or AF_INET6 (10) */
	__u8 pad[3];
};

/* Value of the `edges` map. __u64 counters only. */
struct topology_counts {
	__u64 connections; /* TCP: opens that reached ESTABLISHED; UDP: flows begun (see above) */
	__u64 failures;    /* TCP: active opens that went SYN_SENT -> CLOSE (refused, timed out, reset);
			    * UDP: ICMP errors a connected socket reported (topology.bpf.c) */
};
