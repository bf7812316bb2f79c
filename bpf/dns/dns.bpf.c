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
 * segment, up to eight, and a query only when the whole of it is in that segment. Where the next
 * message starts is taken from the segment's start, or, after a segment that ended inside a
 * message or right after a length prefix, from the socket's `tcp_streams` entry (by sequence
 * number). IPv6 extension headers are not followed.
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

/* Per TCP socket on port 53, made only when a segment ends inside a message (a length prefix
 * written apart from its message, an answer longer than its segment): where the next message of
 * each direction starts, so the next segments are read from there and not from their start. */
struct dns_tcp_stream {
	__u32 next_seq; /* sequence number where the next message's length prefix starts; with
			 * len_known, where its header starts (the prefix ended the last segment) */
	__u16 len;      /* with len_known: that message's length */
	__u8 valid;     /* 0: not tracked, a segment's start is taken as a message's start */
	__u8 len_known;
};

struct dns_tcp_conn {
	struct dns_tcp_stream dir[2]; /* 0: egress, 1: ingress */
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct dns_tcp_conn);
} tcp_streams SEC(".maps");

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
	__u32 seq;     /* TCP: the segment's sequence number */
};

/* Fills the ports of `p` when the packet is UDP or TCP to or from port 53; `off`: where its
 * payload starts. */
static __always_inline bool parse_transport(struct __sk_buff *skb, struct dns_packet *p, __u32 *off, bool *tcp)
{
	__u16 ports[2];
	__u8 tcp_hdr[9], proto = 0;

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
	/* The sequence number, and the data offset as nodepack_tcp_offsets reads it. */
	if (nodepack_packet_read(skb, *off + 4, tcp_hdr, sizeof(tcp_hdr)))
		return false;
	p->seq = bpf_ntohl(*(__u32 *)tcp_hdr);
	*off += (tcp_hdr[8] >> 4) * 4;
	return true;
}

/* What parse_message found at an offset. */
enum dns_msg {
	MSG_BAD,     /* not a message (a segment that does not start one, garbage) */
	MSG_OK,      /* `p` filled: a message to count */
	MSG_SKIP,    /* a message not to count (a query not all in this segment, a header cut by the
		      * segment's end): p->msg_end says where it ends */
	MSG_PREFIX,  /* TCP: only the length prefix, at the segment's end: p->msg_end as MSG_SKIP */
};

/* Fills the rest of `p` when a DNS message starts at `off`: over TCP with its 2-byte length
 * prefix, or right at its header when `known_len` (its prefix ended the last segment). A global
 * function, verified once rather than at each of the message loop's steps. */
__noinline int parse_message(struct __sk_buff *skb, struct dns_packet *p, __u32 off, int tcp, __u32 known_len)
{
	__u8 hdr[DNS_HEADER_LEN];
	__u32 len;
	__u16 msg_len;

	if (!skb || !p)
		return MSG_BAD;
	len = skb->len;
	if (known_len) {
		len = off + known_len;
	} else if (tcp) {
		/* A length prefix that fits a header. A segment whose start is taken as a message's
		 * but is not (untracked, in the middle of a long message) can still look like one;
		 * only answers to remembered ids and whole queries (below) are taken, which keeps
		 * such misreads rare. */
		if (bpf_skb_load_bytes(skb, off, &msg_len, 2))
			return MSG_BAD;
		msg_len = bpf_ntohs(msg_len);
		if (msg_len < DNS_HEADER_LEN)
			return MSG_BAD;
		off += 2;
		len = off + msg_len; /* where the message ends, maybe beyond this segment */
		p->msg_end = len;
		if (off == skb->len)
			return MSG_PREFIX;
	}
	if (off + DNS_HEADER_LEN > len)
		return MSG_BAD;
	p->msg_end = len;
	if (bpf_skb_load_bytes(skb, off, hdr, sizeof(hdr)))
		return tcp ? MSG_SKIP : MSG_BAD; /* the header runs on into the next segment */
	p->id = ((__u16)hdr[0] << 8) | hdr[1];
	p->flags_hi = hdr[2];
	p->flags_lo = hdr[3];
	p->qdcount = ((__u16)hdr[4] << 8) | hdr[5];
	p->msg_off = off;
	/* A query is counted only when all of it is in this packet (UDP always; TCP: a query is
	 * small and its segment holds it), so a segment in the middle of a message is not one. */
	if (!(p->flags_hi & 0x80) && len > skb->len)
		return MSG_SKIP;
	return MSG_OK;
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

/* Counts the query's question name, the bytes from `off` (after the header) to `end`. Names are
 * hostnames: the first zero byte is taken as the root label, and length bytes (at most 63) are
 * never letters, so lowercasing every byte in 'A'..'Z' lowercases the labels alone. A global
 * function, verified once: inlined, the variable read size made every offset before it precise,
 * and the message loop's states did not merge. */
__noinline int count_name(struct __sk_buff *skb, __u32 off, __u32 end)
{
	struct dns_name key = {};
	bool ended = false;
	__u64 one = 1, *count, n;

	if (!skb || end <= off)
		return 0;
	n = end - off;
	if (n > DNS_NAME_MAX)
		n = DNS_NAME_MAX;
	/* Checked again on the register the helper gets: the compiler may otherwise clamp a copy. */
	asm volatile("" : "+r"(n));
	if (n < 1 || n > DNS_NAME_MAX || bpf_skb_load_bytes(skb, off, key.wire, n))
		return 0;
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
		return 0; /* longer than DNS_NAME_MAX */
	count = bpf_map_lookup_elem(&names, &key);
	if (count) {
		__sync_fetch_and_add(count, 1);
		return 0;
	}
	if (bpf_map_update_elem(&names, &key, &one, BPF_NOEXIST)) {
		count = bpf_map_lookup_elem(&names, &key); /* another CPU inserted it */
		if (count)
			__sync_fetch_and_add(count, 1);
	}
	return 0;
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
		count_name(skb, p->msg_off + DNS_HEADER_LEN, p->msg_end);
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

/* What a TCP segment's socket says about where its first message starts. */
struct dns_tcp_start {
	__u32 payload_off; /* where the segment's payload starts */
	__u32 off;       /* where the first message starts in the segment */
	__u32 known_len; /* when not 0, it starts at its header and is this long */
	bool stored;     /* the socket has a tcp_streams entry */
	bool tracked;    /* its start came from that entry, not from the segment's start */
};

/* Where the first message of this TCP segment starts, from the socket's tracked stream when
 * there is one; false when the segment holds no message start (it is all inside one, or a
 * retransmission of what came before). The entry is looked up again by tcp_track rather than
 * kept: a pointer that may be null, held across the message loop, doubles the states the
 * verifier walks there. */
static __always_inline bool tcp_first_message(struct __sk_buff *skb, const struct dns_packet *p, int dir,
					      struct dns_tcp_start *start)
{
	struct bpf_sock *sk = skb->sk;
	struct dns_tcp_conn *c;
	struct dns_tcp_stream *st;
	__s32 ahead;

	if (!sk)
		return true;
	c = bpf_sk_storage_get(&tcp_streams, sk, 0, 0);
	if (!c)
		return true; /* untracked: the segment's start is taken as a message's */
	start->stored = true;
	st = dir ? &c->dir[1] : &c->dir[0];
	if (!st->valid)
		return true;
	ahead = (__s32)(st->next_seq - p->seq);
	if (ahead < 0) {
		st->valid = 0; /* data went by unseen: back to taking segment starts */
		return true;
	}
	if ((__u32)ahead >= skb->len - start->off)
		return false;
	start->off += ahead;
	if (st->len_known)
		start->known_len = st->len;
	start->tracked = true;
	return true;
}

/* Records where the next message starts after a TCP segment whose messages were read up to
 * the last one, `p` and what parse_message said of it (`m`). Storage is made only when the
 * segment did not end on a message boundary; once made it follows every segment. A global
 * function: verified once, not at each of the message loop's exits. */
__noinline int tcp_track(struct __sk_buff *skb, const struct dns_packet *p, const struct dns_tcp_start *start, int dir,
			 int m)
{
	struct dns_tcp_stream *st;
	struct dns_tcp_conn *c;
	struct bpf_sock *sk;
	__u32 end = 0, len = 0;
	bool valid = false, len_known = false;

	if (!skb || !p || !start)
		return 0;
	if (m == MSG_PREFIX) {
		/* The next segment starts at the header of a message this long. */
		end = skb->len;
		len = p->msg_end - skb->len;
		len_known = valid = true;
	} else if (m != MSG_BAD && p->msg_end >= skb->len) {
		/* A message running on into the next segment is followed there when where the
		 * segment's messages started was known, or the last header read is a standard
		 * message's with one question (what resolvers and servers send): a segment taken
		 * for a message's start that is not one must not hide the messages after it. */
		end = p->msg_end;
		valid = start->tracked || (((p->flags_hi >> 3) & 0x0f) == 0 && p->qdcount == 1);
	}
	if (!start->stored && (!valid || (end == skb->len && !len_known)))
		return 0; /* a boundary at the segment's end is where an untracked read starts */
	sk = skb->sk;
	if (!sk)
		return 0;
	c = bpf_sk_storage_get(&tcp_streams, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!c)
		return 0;
	st = dir ? &c->dir[1] : &c->dir[0];
	st->valid = valid;
	st->next_seq = p->seq + (end - start->payload_off);
	st->len = len;
	st->len_known = len_known;
	return 0;
}

static __always_inline void on_message(struct __sk_buff *skb, const struct dns_packet *p, int dir)
{
	if (dir == 0 && p->dport == DNS_PORT && is_query(p))
		on_query(skb, p);
	else if (dir == 0 && p->sport == DNS_PORT && is_answer(p))
		on_answer_sent(skb, p);
	else if (dir == 1 && is_answer(p))
		on_answer_received(skb, p);
}

/* Reads the DNS messages of one packet, `dir` 0 leaving the pod, 1 arriving. */
static __always_inline void read_messages(struct __sk_buff *skb, int dir)
{
	struct dns_tcp_start start = {};
	struct dns_packet p = {};
	bool tcp = false;
	int m;

	if (!parse_transport(skb, &p, &start.off, &tcp) || (dir == 1 && p.sport != DNS_PORT))
		return;
	start.payload_off = start.off;
	if (tcp && start.off >= skb->len)
		return; /* no payload: an ACK, a SYN, a FIN */
	if (tcp && !tcp_first_message(skb, &p, dir, &start))
		return;
	/* The first message apart: only it can start at its header (known_len), which keeps the
	 * loop's states few for the verifier. */
	m = parse_message(skb, &p, start.off, tcp, start.known_len);
	for (int i = 0; i < DNS_MSGS_PER_SEGMENT; i++) {
		if (m == MSG_OK)
			on_message(skb, &p, dir);
		if (!tcp || m == MSG_BAD || m == MSG_PREFIX || p.msg_end >= skb->len)
			break;
		if (i == DNS_MSGS_PER_SEGMENT - 1) {
			m = MSG_BAD; /* more messages than read: where the next starts is not followed */
			break;
		}
		m = parse_message(skb, &p, p.msg_end, tcp, 0);
	}
	if (tcp)
		tcp_track(skb, &p, &start, dir, m);
}

SEC("cgroup_skb/egress")
int dns_egress(struct __sk_buff *skb)
{
	read_messages(skb, 0);
	return 1;
}

SEC("cgroup_skb/ingress")
int dns_ingress(struct __sk_buff *skb)
{
	read_messages(skb, 1);
	return 1;
}
