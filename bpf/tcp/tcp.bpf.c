// SPDX-License-Identifier: GPL-2.0
/* TCP per cgroup v2. Every event is charged through the socket (sk->sk_cgrp_data, or the skb's
 * socket for cgroup_skb), never through whatever task is current in softirq.
 *
 *  - retransmits: tcp:tcp_retransmit_skb
 *  - connections: sock:inet_sock_set_state into TCP_ESTABLISHED
 *  - bytes:       cgroup_skb ingress/egress, attached by user space to the kubepods cgroups,
 *                 counting TCP payload (IP length minus IP and TCP headers; GSO packets once)
 *  - rtt:         srtt_us at each segment received on an established socket: cgroup_skb
 *                 ingress with the bytes, or tcp:tcp_probe on a kernel without cgroup_skb
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#include "core_fixes.bpf.h"
#include "hist.bpf.h"
#include "maps.bpf.h"
#include "packet.bpf.h"
#include "tcp.h"

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

/* The TCP payload length of a packet in *payload and 1, or 0 when the packet is not TCP. Data
 * starts at the IP header; the headers are read from the skb's linear part where the local
 * stack keeps them (packet.bpf.h), not with a helper call each: this runs on every packet a
 * pod sends or receives. */
static __always_inline int tcp_segment(struct __sk_buff *skb, __u64 *payload)
{
	__u32 len = skb->len, tcp_off, off;

	if (!nodepack_tcp_offsets(skb, &tcp_off, &off))
		return 0;
	*payload = len > off ? len - off : 0;
	return 1;
}

/* The socket's smoothed RTT in microseconds when it is established, else 0: what the tcp_probe
 * tracepoint reads at each segment received on an established socket, read here from the
 * segment's own socket as cgroup_skb ingress sees it. Both see the estimate before the segment
 * is taken in (the tracepoint fires at the top of tcp_rcv_established, before its ACK is
 * processed). */
static __always_inline __u32 established_srtt_us(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;
	struct bpf_tcp_sock *tp;

	if (!sk)
		return 0;
	sk = bpf_sk_fullsock(sk);
	if (!sk || sk->state != BPF_TCP_ESTABLISHED)
		return 0;
	tp = bpf_tcp_sock(sk);
	return tp ? tp->srtt_us >> 3 : 0;
}

SEC("cgroup_skb/egress")
int tcp_bytes_egress(struct __sk_buff *skb)
{
	struct tcp_cg_stats *st;
	__u64 n = 0;

	if (skb->len <= 40 || !tcp_segment(skb, &n) || !n)
		return 1; /* 40: no room for a payload after the smallest IP and TCP headers */
	st = stats_for(bpf_skb_cgroup_id(skb));
	if (st)
		st->bytes_sent += n;
	return 1;
}

/* Bytes received and, where cgroup_skb programs load, the RTT histogram too: one program per
 * received segment instead of this and tcp_probe's (tcp_probe_* load only without cgroup_skb).
 * Pure ACKs carry an RTT sample but no payload. */
SEC("cgroup_skb/ingress")
int tcp_bytes_ingress(struct __sk_buff *skb)
{
	struct tcp_cg_stats *st;
	__u32 srtt_us;
	__u64 n = 0;

	if (!tcp_segment(skb, &n))
		return 1;
	srtt_us = established_srtt_us(skb);
	if (!n && !srtt_us)
		return 1;
	st = stats_for(bpf_skb_cgroup_id(skb));
	if (!st)
		return 1;
	st->bytes_received += n;
	if (srtt_us)
		nodepack_hist_record(&st->rtt, (__u64)srtt_us * 1000, false);
	return 1;
}
