/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* dns collector: DNS queries per pod, seen by cgroup_skb programs and charged through the
 * packet's socket. Client side: a query leaving a socket (destination port 53) is remembered by
 * {socket cookie, DNS id}; the answer arriving on the same socket ends it. Server side: answers
 * leaving a socket from port 53. */
#pragma once

#include "nodepack_hist.h"

#define DNS_MAX_CGROUPS 4096 /* cgroups at once; see "Map sizes" in bpf/README.md */
#define DNS_MAX_INFLIGHT 16384
#define DNS_MAX_NAMES 4096 /* question names counted per node (--kpod.dns.top-names) */
#define DNS_NAME_MAX 128   /* longer names (wire format, root label included) are not counted */

/* Response codes counted one by one (RFC 1035 4.1.1, RFC 2136): the header's 4-bit RCODE. */
#define DNS_RCODE_NOERROR 0
#define DNS_RCODE_FORMERR 1
#define DNS_RCODE_SERVFAIL 2
#define DNS_RCODE_NXDOMAIN 3
#define DNS_RCODE_NOTIMP 4
#define DNS_RCODE_REFUSED 5
#define DNS_RCODE_OTHER 6   /* 6..15: YXDOMAIN, NOTAUTH, ... folded into one bounded label */
#define DNS_RCODE_TIMEOUT 7 /* no answer within the timeout (client side only) */
#define DNS_RCODE_SLOTS 8

/* Key of the `inflight` map: a query the pod's socket sent and has no answer for yet. */
struct dns_query_key {
	__u64 cookie; /* bpf_get_socket_cookie: the socket, for as long as it lives */
	__u32 id;     /* DNS header id (16 bits) */
	__u32 pad;
};

struct dns_query {
	__u64 start_ns; /* bpf_ktime_get_ns (CLOCK_MONOTONIC) when the query left */
	__u64 cgid;     /* the socket's cgroup, charged with the answer or the timeout */
};

/* Key of the `names` map: a query's question name in wire format (length-prefixed labels),
 * ASCII letters lowercased, every byte after the root label zero. */
struct dns_name {
	__u8 wire[DNS_NAME_MAX];
};

/* Value of the per-CPU `cg_dns` map, keyed by cgroup v2 id (__u64). */
struct dns_cg_stats {
	__u64 requests[DNS_RCODE_SLOTS]; /* queries this cgroup's sockets sent, by outcome */
	__u64 answers_sent[DNS_RCODE_SLOTS]; /* answers its sockets sent from port 53 (serving DNS) */
	struct nodepack_hist latency;        /* query to answer, ns (answered queries only) */
};
