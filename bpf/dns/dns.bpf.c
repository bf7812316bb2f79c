// SPDX-License-Identifier: GPL-2.0
/* DNS per cgroup v2, from cgroup_skb programs user space attaches to every kubepods cgroup.
 * Everything is charged through the packet's socket (bpf_skb_cgroup_id), never through the task
 * current in softirq.
 *
 *  - egress, destination port 53, a standard query: {socket cookie, DNS id} -> {start, cgroup}
 *    in `inflight` (the first copy of a retransmitted query keeps its start)
 *  - ingress, source port 53, an answer with a remembered {cookie, id}: its RCODE and latency
 *    into the cgroup's counters, entry deleted; an answer later than the timeout counts as
 *    "timeout", as user space counts an entry it finds stale (whoever deletes it counts it)
 *  - egress, source port 53, an answer: counted by RCODE as served by the cgroup
 *  - opt-in (record_names): each query's question name counted per node in `names`
 *
 * UDP and TCP; over TCP (RFC 1035 4.2.2: a 2-byte length prefix) the messages that start in a
 * segment which itself starts one, up to eight, and a query only when the whole of it is in that
 * segment. IPv6 extension headers are not followed.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "hist.bpf.h"
#include "maps.bpf.h"
#include "packet.bpf.h"
#include "dns.h"

#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define DNS_PORT 53
#define DNS_HEADER_LEN 12

char LICENSE[] SEC("license") = "GPL";

/* Set by user space before load (--kpod.dns.timeout). */
const volatile __u64 timeout_ns = 5000000000ULL;
/* Set by user space before load when --kpod.dns.top-names is above 0. */
const volatile bool record_names = false;

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, DNS_MAX_CGROUPS);
	__type(key, __u64);
	__type(value, struct dns_cg_stats);
} cg_dns SEC(".maps");

/* LRU: when more queries are outstanding than it holds, the oldest go uncounted rather than new
 * ones being refused. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, DNS_MAX_INFLIGHT);
	__type(key, struct dns_query_key);
	__type(value, struct dns_query);
} inflight SEC(".maps");

/* Queries per question name, node-wide. LRU: names asked once make room for new ones, names
 * asked often stay. One entry when names are not recorded. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, DNS_MAX_NAMES);
	__type(key, struct dns_name);
	__type(value, __u64);
} names SEC(".maps");

static const struct dns_cg_stats zero_stats;

/* What a packet says about DNS, read from the IP header on (cgroup_skb data starts there). */
struct dns_packet {
	__u16 sport;
	__u16 dport;
	__u16 id;
	__u8 flags_hi; /* QR, OPCODE, AA, TC, RD */
	__u8 flags_lo; /* RA, Z, AD, CD, RCODE */
	__u16 qdcount;
	__u32 msg_off; /* where the DNS header starts */
	__u32 msg_end; /* where the message ends (over TCP maybe beyond this segment) */
};

/* Fills the ports of `p` when the packet is UDP or TCP to or from port 53; `off`: where its
 * payload starts. */
static __always_inline bool parse_transport(struct __sk_buff *skb, struct dns_packet *p, __u32 *off, bool *tcp)
{
	__u16 ports[2];
	__u8 byte, proto = 0;

	/* Up to the ports, from the packet's linear part: no helper call for what is not DNS. */
	*off = nodepack_transport_offset(skb, &proto);
	if (!*off || (proto != IPPROTO_UDP_ && proto != IPPROTO_TCP_))
		return false;
	if (nodepack_packet_read(skb, *off, ports, sizeof(ports)))
		return false;
	p->sport = bpf_ntohs(ports[0]);
	p->dport = bpf_ntohs(ports[1]);
	if (p->sport != DNS_PORT && p->dport != DNS_PORT)
		return false;
	*tcp = proto == IPPROTO_TCP_;
	if (!*tcp) {
		*off += 8;
		return true;
	}
	if (nodepack_packet_read(skb, *off + 12, &byte, 1))
		return false; /* the TCP data offset, as nodepack_tcp_offsets reads it */
	*off += (byte >> 4) * 4;
	return true;
}

/* Fills the rest of `p` when a DNS message starts at `off` (over TCP, its 2-byte length prefix). */
static __always_inline bool parse_message(struct __sk_buff *skb, struct dns_packet *p, __u32 off, bool tcp)
{
	__u8 hdr[DNS_HEADER_LEN];
	__u32 len = skb->len;
	__u16 msg_len;

	if (tcp) {
		/* The segment must start a message: a length prefix that fits a header. A segment in
		 * the middle of a long message can still look like one; only answers to remembered ids
		 * and whole queries (below) are taken, which keeps such misreads rare. */
		if (bpf_skb_load_bytes(skb, off, &msg_len, 2))
			return false;
		msg_len = bpf_ntohs(msg_len);
		if (msg_len < DNS_HEADER_LEN)
			return false;
		off += 2;
		len = off + msg_len; /* where the message ends, maybe beyond this segment */
	}
	if (off + DNS_HEADER_LEN > len || bpf_skb_load_bytes(skb, off, hdr, sizeof(hdr)))
		return false;
	p->id = ((__u16)hdr[0] << 8) | hdr[1];
	p->flags_hi = hdr[2];
	p->flags_lo = hdr[3];
	p->qdcount = ((__u16)hdr[4] << 8) | hdr[5];
	p->msg_off = off;
	p->msg_end = len;
	/* A query is counted only when all of it is in this packet (UDP always; TCP: a query is
	 * small and its segment holds it), so a segment in the middle of a message is not one. */
	if (!(p->flags_hi & 0x80) && len > skb->len)
		return false;
	return true;
}

static __always_inline bool is_answer(const struct dns_packet *p)
{
	return p->flags_hi & 0x80;
}

/* A standard query (OPCODE 0) with one question: what resolvers send. */
static __always_inline bool is_query(const struct dns_packet *p)
{
	return !(p->flags_hi & 0x80) && ((p->flags_hi >> 3) & 0x0f) == 0 && p->qdcount == 1;
}

static __always_inline __u32 rcode_slot(const struct dns_packet *p)
{
	__u32 rcode = p->flags_lo & 0x0f;

	return rcode <= DNS_RCODE_REFUSED ? rcode : DNS_RCODE_OTHER;
}

static __always_inline struct dns_cg_stats *stats_for(__u64 cgid)
{
	if (!cgid)
		return NULL;
	return nodepack_cgroup_lookup_or_init(&cg_dns, &cgid, cgid, &zero_stats);
}

/* Counts the query's question name (the first bytes after the header). Names are hostnames: the
 * first zero byte is taken as the root label, and length bytes (at most 63) are never letters, so
 * lowercasing every byte in 'A'..'Z' lowercases the labels alone. */
static __always_inline void count_name(struct __sk_buff *skb, const struct dns_packet *p)
{
	struct dns_name key = {};
	__u32 off = p->msg_off + DNS_HEADER_LEN;
	bool ended = false;
	__u64 one = 1, *count, n;

	if (p->msg_end <= off)
		return;
	n = p->msg_end - off;
	if (n > DNS_NAME_MAX)
		n = DNS_NAME_MAX;
	/* Checked again on the register the helper gets: the compiler may otherwise clamp a copy. */
	asm volatile("" : "+r"(n));
	if (n < 1 || n > DNS_NAME_MAX || bpf_skb_load_bytes(skb, off, key.wire, n))
		return;
	for (__u32 i = 0; i < DNS_NAME_MAX; i++) {
		__u8 c = key.wire[i];

		if (ended)
			key.wire[i] = 0; /* QTYPE, QCLASS, whatever follows */
		else if (c == 0)
			ended = true;
		else if (c >= 'A' && c <= 'Z')
			key.wire[i] = c + ('a' - 'A');
	}
	if (!ended)
		return; /* longer than DNS_NAME_MAX */
	count = bpf_map_lookup_elem(&names, &key);
	if (count) {
		__sync_fetch_and_add(count, 1);
		return;
	}
	if (bpf_map_update_elem(&names, &key, &one, BPF_NOEXIST)) {
		count = bpf_map_lookup_elem(&names, &key); /* another CPU inserted it */
		if (count)
			__sync_fetch_and_add(count, 1);
	}
}

static __always_inline void on_query(struct __sk_buff *skb, const struct dns_packet *p)
{
	struct dns_query_key key = {.cookie = bpf_get_socket_cookie(skb), .id = p->id};
	struct dns_query q = {.cgid = bpf_skb_cgroup_id(skb)};
	long err;

	if (!q.cgid || bpf_map_lookup_elem(&skip_cgroups, &q.cgid))
		return;
	q.start_ns = bpf_ktime_get_ns();
	err = bpf_map_update_elem(&inflight, &key, &q, BPF_NOEXIST);
	if (err == -17)
		return; /* EEXIST: a retransmission, the first send is when it was asked */
	if (err)
		nodepack_count_map_error();
	if (record_names)
		count_name(skb, p);
}

static __always_inline void on_answer_received(struct __sk_buff *skb, const struct dns_packet *p)
{
	struct dns_query_key key = {.cookie = bpf_get_socket_cookie(skb), .id = p->id};
	struct dns_query *q = bpf_map_lookup_elem(&inflight, &key);
	struct dns_cg_stats *st;
	__u64 start, cgid, ns;

	if (!q)
		return; /* not asked from here, already answered, or swept as a timeout */
	start = q->start_ns;
	cgid = q->cgid;
	if (bpf_map_delete_elem(&inflight, &key))
		return; /* user space's sweep took it first and counted it */
	ns = bpf_ktime_get_ns() - start;
	st = stats_for(cgid);
	if (!st)
		return;
	if (ns > timeout_ns) {
		st->requests[DNS_RCODE_TIMEOUT]++;
		return;
	}
	st->requests[rcode_slot(p)]++;
	nodepack_hist_record(&st->latency, ns, false);
}

static __always_inline void on_answer_sent(struct __sk_buff *skb, const struct dns_packet *p)
{
	struct dns_cg_stats *st = stats_for(bpf_skb_cgroup_id(skb));

	if (st)
		st->answers_sent[rcode_slot(p)]++;
}

/* Over TCP, messages that follow one another in a segment (a resolver sending its A and AAAA
 * queries in one write, a server answering both in one): each one whose start is in the
 * segment, up to DNS_MSGS_PER_SEGMENT. */
#define DNS_MSGS_PER_SEGMENT 8

SEC("cgroup_skb/egress")
int dns_egress(struct __sk_buff *skb)
{
	struct dns_packet p;
	bool tcp = false;
	__u32 off;

	if (!parse_transport(skb, &p, &off, &tcp))
		return 1;
	for (int i = 0; i < DNS_MSGS_PER_SEGMENT; i++) {
		if (!parse_message(skb, &p, off, tcp))
			return 1;
		if (p.dport == DNS_PORT && is_query(&p))
			on_query(skb, &p);
		else if (p.sport == DNS_PORT && is_answer(&p))
			on_answer_sent(skb, &p);
		if (!tcp || p.msg_end >= skb->len)
			return 1;
		off = p.msg_end;
	}
	return 1;
}

SEC("cgroup_skb/ingress")
int dns_ingress(struct __sk_buff *skb)
{
	struct dns_packet p;
	bool tcp = false;
	__u32 off;

	if (!parse_transport(skb, &p, &off, &tcp) || p.sport != DNS_PORT)
		return 1;
	for (int i = 0; i < DNS_MSGS_PER_SEGMENT; i++) {
		if (!parse_message(skb, &p, off, tcp))
			return 1;
		if (is_answer(&p))
			on_answer_received(skb, &p);
		if (!tcp || p.msg_end >= skb->len)
			return 1;
		off = p.msg_end;
	}
	return 1;
}
