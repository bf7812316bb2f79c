/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* http collector: HTTP/1.x requests per cgroup v2, client and server side, from cgroup_skb. */
#pragma once

#include "nodepack_hist.h"

#define HTTP_MAX_CGROUPS 4096

/* Direction: the socket sent the request (client) or received it (server). */
#define HTTP_DIR_CLIENT 0
#define HTTP_DIR_SERVER 1
#define HTTP_DIRS 2

/* Method index; `unparsed`: a request was seen but its method is not known (the method token
 * was split across segments, or the request was past the pipeline depth). */
#define HTTP_M_GET 0
#define HTTP_M_POST 1
#define HTTP_M_PUT 2
#define HTTP_M_DELETE 3
#define HTTP_M_HEAD 4
#define HTTP_M_PATCH 5
#define HTTP_M_OPTIONS 6
#define HTTP_M_OTHER 7
#define HTTP_M_UNPARSED 8
#define HTTP_METHODS 9

/* Status class index: 1xx..5xx, then `unparsed` (status line split across segments, or a
 * status outside 100..599). */
#define HTTP_STATUS_UNPARSED 5
#define HTTP_STATUS_CLASSES 6

/* Protocol of a connection, from its first payload bytes (either direction). */
#define NET_PROTO_HTTP 0
#define NET_PROTO_REDIS 1
#define NET_PROTO_POSTGRESQL 2
#define NET_PROTO_MYSQL 3
#define NET_PROTO_KAFKA 4
#define NET_PROTOCOLS 5

/* Value of the `cg_http` map, keyed by cgroup v2 id (__u64); updated with atomic adds. */
struct http_cg_stats {
	__u64 requests[HTTP_DIRS][HTTP_METHODS][HTTP_STATUS_CLASSES]; /* completed: response seen */
	__u64 unmatched_responses[HTTP_DIRS]; /* a response with no outstanding request */
	struct nodepack_hist latency[HTTP_DIRS]; /* request's first segment to response's, ns;
						    * count left 0: the slots' sum is the count */
	__u64 protocol_connections[HTTP_DIRS][NET_PROTOCOLS]; /* connections recognised, per side */
};
