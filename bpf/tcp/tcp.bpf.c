// SPDX-License-Identifier: GPL-2.0
/* TCP per cgroup v2. Every event is charged through the socket (sk->sk_cgrp_data, or the skb's
 * socket for cgroup_skb), never through whatever task is current in softirq.
 *
 *  - retransmits: tcp:tcp_retransmit_skb
 *  - connections: sock:inet_sock_set_state into TCP_ESTABLISHED
 *  - rtt:         tcp:tcp_probe (each segment received on an established socket), srtt_us
 *  - bytes:       cgroup_skb ingress/egress, attached by user space to the kubepods cgroups,
 *                 counting TCP payload (IP length minus IP and TCP headers; GSO packets once)
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#include "core_fixes.bpf.h"
#include "hist.bpf.h"
#include "maps.bpf.h"
#include "tcp.h"

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define IPPROTO_TCP_ 6

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, TCP_MAX_CGROUPS);
	__type(key, __u64);
	__type(value, struct tcp_cg_stats);
} cg_tcp SEC(".maps");

static const struct tcp_cg_stats zero_stats;

static __always_inline struct tcp_cg_stats *stats_for(__u64 cgid)
{
	if (!cgid)
		return NULL;
	return nodepack_cgroup_lookup_or_init(&cg_tcp, &cgid, cgid, &zero_stats);
}

static __always_inline void on_retransmit(const struct sock *sk)
{
	struct tcp_cg_stats *st = stats_for(nodepack_sock_cgroup_id(sk));

	if (st)
		st->retransmits++;
}

static __always_inline void on_state(const struct sock *sk, int newstate)
{
	struct tcp_cg_stats *st;

	if (newstate != TCP_ESTABLISHED || nodepack_sk_protocol(sk) != IPPROTO_TCP_)
		return;
	st = stats_for(nodepack_sock_cgroup_id(sk));
	if (st)
		st->connections++;
}

static __always_inline void on_probe(const struct sock *sk)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;
	struct tcp_cg_stats *st;
	__u32 srtt_us = BPF_CORE_READ(tp, srtt_us) >> 3;

	if (!srtt_us)
		return; /* no RTT sample yet */
	st = stats_for(nodepack_sock_cgroup_id(sk));
	if (st)
		nodepack_hist_record(&st->rtt, (__u64)srtt_us * 1000, false);
}

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(tcp_retransmit_btf, const struct sock *sk)
{
	on_retransmit(sk);
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(tcp_state_btf, const struct sock *sk, int oldstate, int newstate)
{
	on_state(sk, newstate);
	return 0;
}

SEC("tp_btf/tcp_probe")
int BPF_PROG(tcp_probe_btf, const struct sock *sk)
{
	on_probe(sk);
	return 0;
}

SEC("raw_tp/tcp_retransmit_skb")
int BPF_PROG(tcp_retransmit_raw, const struct sock *sk)
{
	on_retransmit(sk);
	return 0;
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(tcp_state_raw, const struct sock *sk, int oldstate, int newstate)
{
	on_state(sk, newstate);
	return 0;
}

SEC("raw_tp/tcp_probe")
int BPF_PROG(tcp_probe_raw, const struct sock *sk)
{
	on_probe(sk);
	return 0;
}

/* TCP payload length of the packet, or 0 when it is not TCP. Data starts at the IP header. */
static __always_inline __u64 tcp_payload(struct __sk_buff *skb)
{
	__u32 ip_len, tcp_off;
	__u8 byte, proto;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		if (bpf_skb_load_bytes(skb, 0, &byte, 1))
			return 0;
		ip_len = (byte & 0x0f) * 4;
		if (bpf_skb_load_bytes(skb, 9, &proto, 1))
			return 0;
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		ip_len = 40;
		if (bpf_skb_load_bytes(skb, 6, &proto, 1))
			return 0; /* extension headers are not followed */
	} else {
		return 0;
	}
	if (proto != IPPROTO_TCP_)
		return 0;
	tcp_off = ip_len + 12;
	if (bpf_skb_load_bytes(skb, tcp_off, &byte, 1))
		return 0;
	ip_len += (byte >> 4) * 4;
	return skb->len > ip_len ? skb->len - ip_len : 0;
}

static __always_inline void count_bytes(struct __sk_buff *skb, bool egress)
{
	struct tcp_cg_stats *st;
	__u64 n = tcp_payload(skb);

	if (!n)
		return;
	st = stats_for(bpf_skb_cgroup_id(skb));
	if (!st)
		return;
	if (egress)
		st->bytes_sent += n;
	else
		st->bytes_received += n;
}

SEC("cgroup_skb/egress")
int tcp_bytes_egress(struct __sk_buff *skb)
{
	count_bytes(skb, true);
	return 1;
}

SEC("cgroup_skb/ingress")
int tcp_bytes_ingress(struct __sk_buff *skb)
{
	count_bytes(skb, false);
	return 1;
}
