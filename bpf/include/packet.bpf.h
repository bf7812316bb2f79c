/* SPDX-License-Identifier: GPL-2.0 */
/* Header reads for cgroup_skb programs, which run on every packet a pod sends or receives and
 * see it from the IP header on. The IP and TCP/UDP headers of a packet the local stack built or
 * is delivering are in the skb's linear part, so they are read there directly (no helper call);
 * bpf_skb_load_bytes is the fallback when they are not. */
#ifndef NODEPACK_PACKET_BPF_H
#define NODEPACK_PACKET_BPF_H

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define NODEPACK_ETH_P_IP 0x0800
#define NODEPACK_ETH_P_IPV6 0x86DD
#define NODEPACK_MAX_L4_OFF 60 /* an IPv4 header with the most options */

/* Copies `len` bytes (a constant) at `off` (at most NODEPACK_MAX_L4_OFF + 60) into `to`; 0 on
 * success. */
static __always_inline int nodepack_packet_read(struct __sk_buff *skb, __u32 off, void *to, const __u32 len)
{
	__u8 *data = (__u8 *)(long)skb->data, *end = (__u8 *)(long)skb->data_end;

	if (off > NODEPACK_MAX_L4_OFF + 60)
		return -1;
	barrier_var(off);
	if (data + off + len <= end) {
		__builtin_memcpy(to, data + off, len);
		return 0;
	}
	return bpf_skb_load_bytes(skb, off, to, len);
}

/* The transport header's offset and the IP protocol number (`proto`), or 0 for a packet that is
 * neither IPv4 nor IPv6, or a later IPv4 fragment (no transport header). IPv6 extension headers
 * are not followed. */
static __always_inline __u32 nodepack_transport_offset(struct __sk_buff *skb, __u8 *proto)
{
	__u8 h[10];

	if (skb->protocol == bpf_htons(NODEPACK_ETH_P_IP)) {
		if (nodepack_packet_read(skb, 0, h, 10))
			return 0;
		if ((h[6] & 0x1f) || h[7])
			return 0; /* fragment offset: not the first fragment */
		*proto = h[9];
		return (h[0] & 0x0f) * 4;
	}
	if (skb->protocol == bpf_htons(NODEPACK_ETH_P_IPV6)) {
		if (nodepack_packet_read(skb, 6, h, 1))
			return 0;
		*proto = h[0];
		return 40;
	}
	return 0;
}

/* For a TCP packet: 1, with the TCP header's offset in *tcp_off and the payload's in
 * *payload_off (skb->len or more when it carries none); 0 for any other packet. */
static __always_inline int nodepack_tcp_offsets(struct __sk_buff *skb, __u32 *tcp_off, __u32 *payload_off)
{
	__u8 proto = 0, doff;
	__u32 off = nodepack_transport_offset(skb, &proto);

	if (!off || proto != 6 /* IPPROTO_TCP */ || nodepack_packet_read(skb, off + 12, &doff, 1))
		return 0;
	*tcp_off = off;
	*payload_off = off + (doff >> 4) * 4;
	return 1;
}

#endif
