// SPDX-License-Identifier: GPL-2.0
/* For tests: a lossy link. On tc ingress of the loopback device (the receiving side: the sender
 * has counted the segment as sent, so it is lost on the way, not refused), drops the first
 * transmission of every `every`-th TCP segment with a payload sent from port `port` whose payload
 * does not start with "HTTP" (a body's bytes, never a response's start). The receiver then sees
 * the segments after it arrive past a hole, and TCP sends the dropped one again (let through). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "lossy_link.h"

#define TC_ACT_OK_ 0
#define TC_ACT_SHOT_ 2
#define ETH_HLEN_ 14

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lossy_config);
} lossy SEC(".maps");

/* Sequence numbers dropped once: their retransmission goes through. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u8);
} dropped_seqs SEC(".maps");

SEC("tc")
int lossy_ingress(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *data_end = (void *)(long)skb->data_end;
	struct iphdr *ip = data + ETH_HLEN_;
	struct tcphdr *tcp;
	struct lossy_config *cfg;
	__u32 key = 0, ihl, doff, seq, payload;
	__u8 first[4], one = 1;

	if ((void *)(ip + 1) > data_end || skb->protocol != bpf_htons(0x0800) || ip->protocol != 6)
		return TC_ACT_OK_;
	ihl = ip->ihl * 4;
	tcp = (void *)ip + ihl;
	if (ihl < 20 || (void *)(tcp + 1) > data_end)
		return TC_ACT_OK_;
	cfg = bpf_map_lookup_elem(&lossy, &key);
	if (!cfg || !cfg->port || tcp->source != bpf_htons(cfg->port))
		return TC_ACT_OK_;
	doff = tcp->doff * 4;
	payload = ETH_HLEN_ + ihl + doff;
	if (skb->len <= payload || bpf_skb_load_bytes(skb, payload, first, 4))
		return TC_ACT_OK_;
	if (first[0] == 'H' && first[1] == 'T' && first[2] == 'T' && first[3] == 'P')
		return TC_ACT_OK_;
	seq = tcp->seq;
	if (bpf_map_lookup_elem(&dropped_seqs, &seq))
		return TC_ACT_OK_;
	if (++cfg->seen % (cfg->every ? cfg->every : 1))
		return TC_ACT_OK_;
	bpf_map_update_elem(&dropped_seqs, &seq, &one, BPF_ANY);
	cfg->dropped++;
	return TC_ACT_SHOT_;
}
