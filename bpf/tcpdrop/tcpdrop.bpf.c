// SPDX-License-Identifier: GPL-2.0
/* TCP packet drops per cgroup v2, from the skb:kfree_skb tracepoint and its drop reason
 * (Linux 5.17+). Charged through the socket, never through `current` (drops happen in softirq):
 * skb->sk (the sender on the way out; on the way in, the socket early demux or the lookup
 * attached), or, where the tracepoint passes it (Linux 6.13+, commit c53795d48ee8), the socket
 * the packet was being delivered to (rx_sk). Only full TCP sockets count: request and time-wait
 * mini-sockets have no cgroup.
 *
 * Counted: every reason except SKB_NOT_DROPPED_YET, SKB_CONSUMED (freed after use, not dropped),
 * SKB_DROP_REASON_NOT_SPECIFIED (plain kfree_skb() calls, which include frees that are not drops)
 * and SKB_DROP_REASON_SOCKET_CLOSE (the application closing with unread data: not a network
 * drop). Enum values are taken from the running kernel (CO-RE), not from vmlinux.h. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "core_fixes.bpf.h"
#include "maps.bpf.h"
#include "tcpdrop.h"

#define IPPROTO_TCP_ 6
#define TCP_TIME_WAIT_ 6
#define TCP_NEW_SYN_RECV_ 12

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, TCPDROP_MAX_CGROUPS);
	__type(key, __u64);
	__type(value, struct tcpdrop_cg_stats);
} cg_drops SEC(".maps");

static const struct tcpdrop_cg_stats zero_stats;

static __always_inline bool is_counted(enum skb_drop_reason reason)
{
	if (reason == bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_NOT_SPECIFIED))
		return false;
	if (bpf_core_enum_value_exists(enum skb_drop_reason, SKB_NOT_DROPPED_YET) &&
	    reason == bpf_core_enum_value(enum skb_drop_reason, SKB_NOT_DROPPED_YET))
		return false;
	if (bpf_core_enum_value_exists(enum skb_drop_reason, SKB_CONSUMED) &&
	    reason == bpf_core_enum_value(enum skb_drop_reason, SKB_CONSUMED))
		return false;
	if (bpf_core_enum_value_exists(enum skb_drop_reason, SKB_DROP_REASON_SOCKET_CLOSE) &&
	    reason == bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_SOCKET_CLOSE))
		return false;
	return true;
}

/* A full TCP socket (not a request or time-wait mini-socket, whose struct ends before
 * sk_cgrp_data). */
static __always_inline bool is_full_tcp(const struct sock *sk)
{
	__u8 state;

	if (!sk)
		return false;
	state = BPF_CORE_READ(sk, __sk_common.skc_state);
	if (state == TCP_TIME_WAIT_ || state == TCP_NEW_SYN_RECV_)
		return false;
	return nodepack_sk_protocol(sk) == IPPROTO_TCP_;
}

static __always_inline void on_drop(const struct sk_buff *skb, enum skb_drop_reason reason, const struct sock *rx_sk)
{
	const struct sock *sk;
	struct tcpdrop_cg_stats *st;
	__u64 cgid;

	if (!is_counted(reason))
		return;
	sk = BPF_CORE_READ(skb, sk);
	if (!sk)
		sk = rx_sk;
	if (!is_full_tcp(sk))
		return;
	cgid = nodepack_sock_cgroup_id(sk);
	if (!cgid)
		return;
	st = nodepack_cgroup_lookup_or_init(&cg_drops, &cgid, cgid, &zero_stats);
	if (st)
		st->drops++;
}

/* Linux 6.13+: kfree_skb(skb, location, reason, rx_sk). */
SEC("tp_btf/kfree_skb")
int BPF_PROG(tcpdrop_rx_sk, struct sk_buff *skb, void *location, enum skb_drop_reason reason, struct sock *rx_sk)
{
	on_drop(skb, reason, rx_sk);
	return 0;
}

/* Linux 5.17 – 6.12: kfree_skb(skb, location, reason). */
SEC("tp_btf/kfree_skb")
int BPF_PROG(tcpdrop_reason, struct sk_buff *skb, void *location, enum skb_drop_reason reason)
{
	on_drop(skb, reason, NULL);
	return 0;
}

/* The same two shapes as raw tracepoints, for kernels that cannot attach tp_btf here. */
SEC("raw_tp/kfree_skb")
int BPF_PROG(tcpdrop_rx_sk_raw, struct sk_buff *skb, void *location, enum skb_drop_reason reason, struct sock *rx_sk)
{
	on_drop(skb, reason, rx_sk);
	return 0;
}

SEC("raw_tp/kfree_skb")
int BPF_PROG(tcpdrop_reason_raw, struct sk_buff *skb, void *location, enum skb_drop_reason reason)
{
	on_drop(skb, reason, NULL);
	return 0;
}
