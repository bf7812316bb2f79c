// SPDX-License-Identifier: GPL-2.0
/* Per-pod connection topology. sock:inet_sock_set_state only, charged through the socket's
 * cgroup (sk->sk_cgrp_data; a passive open's child socket inherits its listener's), never through
 * whatever task is current (softirq for passive opens and refusals).
 *
 *  - outbound: SYN_SENT -> ESTABLISHED, peer = remote address and port
 *  - failure:  SYN_SENT -> CLOSE (RST received, SYN retries exhausted, connect aborted)
 *  - inbound:  SYN_RECV -> ESTABLISHED, peer = remote address, port = the local (listening) port
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#include "core_fixes.bpf.h"
#include "maps.bpf.h"
#include "topology.h"

#define AF_INET_ 2
#define AF_INET6_ 10
#define IPPROTO_TCP_ 6

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TOPOLOGY_MAX_EDGES);
	__type(key, struct topology_key);
	__type(value, struct topology_counts);
} edges SEC(".maps");

static const struct topology_counts zero_counts;

static __always_inline void on_state(const struct sock *sk, int oldstate, int newstate)
{
	struct topology_key key = {};
	struct topology_counts *c;
	bool failure = false;

	if (oldstate == TCP_SYN_SENT && newstate == TCP_ESTABLISHED) {
		key.direction = TOPOLOGY_OUTBOUND;
	} else if (oldstate == TCP_SYN_SENT && newstate == TCP_CLOSE) {
		key.direction = TOPOLOGY_OUTBOUND;
		failure = true;
	} else if (oldstate == TCP_SYN_RECV && newstate == TCP_ESTABLISHED) {
		key.direction = TOPOLOGY_INBOUND;
	} else {
		return;
	}
	if (nodepack_sk_protocol(sk) != IPPROTO_TCP_)
		return;
	key.cgroup_id = nodepack_sock_cgroup_id(sk);
	if (!key.cgroup_id)
		return;
	key.protocol = IPPROTO_TCP_;
	key.family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (key.family == AF_INET_) {
		__be32 daddr = BPF_CORE_READ(sk, __sk_common.skc_daddr);

		__builtin_memcpy(key.addr, &daddr, sizeof(daddr));
	} else if (key.family == AF_INET6_) {
		BPF_CORE_READ_INTO(&key.addr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
	} else {
		return;
	}
	if (key.direction == TOPOLOGY_OUTBOUND)
		key.port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	else
		key.port = BPF_CORE_READ(sk, __sk_common.skc_num);

	c = nodepack_cgroup_lookup_or_init(&edges, &key, key.cgroup_id, &zero_counts);
	if (!c)
		return;
	/* Not per-CPU: a connection event is rare next to packets, and an edge's two CPUs may race. */
	if (failure)
		__sync_fetch_and_add(&c->failures, 1);
	else
		__sync_fetch_and_add(&c->connections, 1);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(topology_state_btf, const struct sock *sk, int oldstate, int newstate)
{
	on_state(sk, oldstate, newstate);
	return 0;
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(topology_state_raw, const struct sock *sk, int oldstate, int newstate)
{
	on_state(sk, oldstate, newstate);
	return 0;
}
