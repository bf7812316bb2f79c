// SPDX-License-Identifier: GPL-2.0
/* HTTP/1.x per cgroup v2, client and server side, from cgroup_skb programs attached by user
 * space to the kubepods cgroups. No kprobes: each TCP segment a pod's socket sends or receives
 * is looked at from its payload's first bytes.
 *
 *  - A request's first segment pushes {method, time} on its connection's FIFO of outstanding
 *    requests (HTTP/1.1 pipelining); the response's first segment, in the other direction,
 *    pops the oldest and counts method x status class and the latency. The socket that sent
 *    the request is the client side; the one that received it the server side.
 *  - Per connection and direction, the stream is followed message by message: headers are
 *    scanned for their end and for Content-Length / Transfer-Encoding, and body bytes are
 *    skipped (a chunked body chunk by chunk, from its size lines), so a body segment that
 *    happens to start with "GET " is not a request.
 *  - A connection's first payload segment (either direction) names its protocol: HTTP/1.x, or
 *    Redis, PostgreSQL, MySQL, Kafka by their first bytes. Only HTTP connections are followed
 *    further; the others are left after that segment.
 *  - Connection state lives in socket storage (freed with the socket), made at the first
 *    payload: an HTTP connection's whole state, a byte for any other (its segments then pay two
 *    storage lookups and are left).
 *  - Attribution: the socket's cgroup (bpf_skb_cgroup_id), never the task in softirq.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "hist.bpf.h"
#include "maps.bpf.h"
#include "packet.bpf.h"
#include "http.h"

#define FIFO_DEPTH 32		/* outstanding requests per connection (power of two) */
#define MSGS_PER_SEGMENT 32	/* messages looked at in one segment (pipelining), with their bodies */
#define SCAN_CHUNK 128		/* header bytes loaded at a time (a power of two): most requests' all */
#define SCAN_CHUNKS 64		/* => at most 8 KiB of headers scanned per segment */
#define HEADER_BYTES 32		/* of a header line read for its name and value */
#define LINES_READ 32		/* header lines starting with 'c' or 't' read per message and segment */

char LICENSE[] SEC("license") = "GPL";

/* Bytes as a little-endian word (BPF is little-endian on every architecture we build for). */
#define LE8(a, b, c, d, e, f, g, h)                                                                  \
	((__u64)(a) | (__u64)(b) << 8 | (__u64)(c) << 16 | (__u64)(d) << 24 | (__u64)(e) << 32 |    \
	 (__u64)(f) << 40 | (__u64)(g) << 48 | (__u64)(h) << 56)
#define ONES 0x0101010101010101ULL
#define LOW7 0x7f7f7f7f7f7f7f7fULL
#define CASE_BITS 0x2020202020202020ULL /* or'ed in: letters to lower case ('-' and ':' have it) */

enum phase {
	PH_IDLE = 0,		/* a message may start here */
	PH_HEADERS = 1,		/* in a message's headers, or a chunked body's trailer */
	PH_CHUNKED = 2,		/* at (or in) a chunk-size line; a chunk's data is `skip` */
	PH_CHUNK_LOST = 3,	/* in a chunked body whose framing was lost: see on_segment() */
	PH_UNTIL_CLOSE = 4,	/* in a response body that ends with the connection (RFC 9112 6.3) */
};

/* One direction of a connection's byte stream. */
struct http_stream {
	__u64 skip;		/* body bytes still to come before a message can start */
	__u64 content_length;
	__u32 rolling;		/* the last four header bytes (scan_buffer), to find CRLF CRLF */
	__u8 phase;
	__u8 has_cl;
	__u8 chunked;
	__u8 no_body;		/* a response to HEAD, 1xx, 204, 304: no body whatever the headers say */
	__u8 response;		/* the message in progress is a response */
	__u32 next_seq;		/* TCP sequence number just past the last payload seen */
	__u8 seq_known;
	__u8 chunk_digits;	/* a chunk-size line cut by a segment's end: its hex digits so far */
	__u8 chunk_ext;		/* ... and past them (an extension, the CR) */
	__u8 cut;		/* the headers' last line was cut by the segment's end: */
	__u8 cut_len;		/* its first cut_len bytes (< HEADER_BYTES), zeros after them */
	__u8 cut_line[HEADER_BYTES];
};

struct http_conn {
	struct bpf_spin_lock lock; /* the FIFO: egress and ingress of one socket run concurrently */
	__u32 head, tail;	/* outstanding requests: [head, tail) */
	__u32 overflow;		/* requests past a full FIFO, answered after it drains */
	__u8 request_stream;	/* 0 egress, 1 ingress, 0xff none seen yet */
	__u8 upgraded;		/* 101 Switching Protocols: not looked at any more */
	__u8 pad[2];
	__u64 cgid;		/* the socket's cgroup, read once: a socket keeps the cgroup it was made in */
	__u64 start_ns[FIFO_DEPTH];
	__u8 method[FIFO_DEPTH];
	struct http_stream s[2];
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct http_conn);
} conns SEC(".maps");

/* Connections whose first payload showed another protocol, or none: passed over at one more
 * lookup a segment, with a byte of storage each rather than an http_conn. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u8);
} not_http SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, HTTP_MAX_CGROUPS);
	__type(key, __u64);
	__type(value, struct http_cg_stats);
} cg_http SEC(".maps");

static const struct http_cg_stats zero_stats;

/* Offset of the TCP payload from the IP header (where cgroup_skb data starts), or 0 when the
 * packet is not TCP or carries no payload (pure ACKs: most segments of a bulk transfer's
 * return direction); `tcp_off`: the TCP header's. Header reads only, from the linear part: no
 * helper call, socket or map before this says there is a payload. */
static __always_inline __u32 tcp_payload_offset(struct __sk_buff *skb, __u32 *tcp_off)
{
	__u32 len = skb->len, payload;

	if (len <= 40 || !nodepack_tcp_offsets(skb, tcp_off, &payload))
		return 0; /* 40: no room for a payload after the smallest IP and TCP headers */
	return len > payload ? payload : 0;
}

/* How many bytes to load at `pos`: min(end - pos, max), checked again after a compiler barrier
 * so that the verifier sees the bound on the very register passed as the length; 0 for none. */
static __always_inline __u64 load_len(__u32 pos, __u32 end, __u64 max)
{
	__u64 n = pos < end ? (__u64)end - pos : 0;

	if (n > max)
		n = max;
	barrier_var(n);
	return n >= 1 && n <= max ? n : 0;
}

/* What a message start looks like: CLS_* in bits 16.., the method or status in the low bits. */
#define CLS_NONE 0
#define CLS_REQUEST 1
#define CLS_RESPONSE 2
#define CLS_SHORT 3 /* the whole segment is shorter than a method token or a status line */
#define CLS_SHORT_MAYBE_RESPONSE 4 /* ... and it is also a prefix of "HTTP/1.x NNN " */

static __always_inline int is_upper(__u8 c)
{
	return c >= 'A' && c <= 'Z';
}

static __always_inline int is_digit(__u8 c)
{
	return c >= '0' && c <= '9';
}

static __always_inline int status_char_ok(__u32 i, __u8 c)
{
	switch (i) {
	case 0: return c == 'H';
	case 1:
	case 2: return c == 'T';
	case 3: return c == 'P';
	case 4: return c == '/';
	case 5: return c == '1';
	case 6: return c == '.';
	case 7: return c == '0' || c == '1';
	case 8: return c == ' ';
	case 12: return c == ' ' || c == '\r';
	default: return is_digit(c);
	}
}

#define EQ3(b, s) ((b)[0] == (s)[0] && (b)[1] == (s)[1] && (b)[2] == (s)[2])
#define EQ4(b, s) (EQ3(b, s) && (b)[3] == (s)[3])

static __always_inline int method_of(const __u8 *b, __u32 len)
{
	switch (len) {
	case 3:
		return EQ3(b, "GET") ? HTTP_M_GET : EQ3(b, "PUT") ? HTTP_M_PUT : HTTP_M_OTHER;
	case 4:
		return EQ4(b, "POST") ? HTTP_M_POST : EQ4(b, "HEAD") ? HTTP_M_HEAD : HTTP_M_OTHER;
	case 5:
		return EQ4(b, "PATC") && b[4] == 'H' ? HTTP_M_PATCH : HTTP_M_OTHER;
	case 6:
		return EQ4(b, "DELE") && b[4] == 'T' && b[5] == 'E' ? HTTP_M_DELETE : HTTP_M_OTHER;
	case 7:
		return EQ4(b, "OPTI") && EQ3(b + 4, "ONS") ? HTTP_M_OPTIONS : HTTP_M_OTHER;
	default:
		return HTTP_M_OTHER;
	}
}

/* Classifies the `n` bytes (up to 16) at `b`, a message's first. A request: an upper-case
 * token of 3..12 letters, a space, then '/', '*' or a letter (origin, asterisk, absolute or
 * authority form) or the segment's end. A response: "HTTP/1.x NNN" then a space or CR. */
static __always_inline int classify_bytes(const __u8 *b, __u64 n)
{
	__u32 i, tok = 0;
	int maybe_response = 1;
	__u64 first;

	/* The usual status line, "HTTP/1.1 NNN ", in a few compares; what it is not goes on. */
	__builtin_memcpy(&first, b, 8);
	if (n >= 13 && (first | 1ULL << 56) == LE8('H', 'T', 'T', 'P', '/', '1', '.', '1') && b[8] == ' ' &&
	    is_digit(b[9]) && is_digit(b[10]) && is_digit(b[11]) && (b[12] == ' ' || b[12] == '\r'))
		return (CLS_RESPONSE << 16) | ((b[9] - '0') * 100 + (b[10] - '0') * 10 + (b[11] - '0'));
	for (i = 0; i < 13; i++) {
		if (i >= n)
			break;
		if (!status_char_ok(i, b[i])) {
			maybe_response = 0;
			break;
		}
	}
	if (maybe_response && i == 13) {
		__u32 status = (b[9] - '0') * 100 + (b[10] - '0') * 10 + (b[11] - '0');
		return (CLS_RESPONSE << 16) | status;
	}
	for (tok = 0; tok < 13; tok++) {
		if (tok >= n || !is_upper(b[tok]))
			break;
	}
	if (tok == n)
		return ((maybe_response ? CLS_SHORT_MAYBE_RESPONSE : CLS_SHORT) << 16);
	if (maybe_response && n < 13)
		return CLS_SHORT_MAYBE_RESPONSE << 16;
	if (tok < 3 || tok > 12 || b[tok] != ' ')
		return CLS_NONE;
	if (tok == 3 && EQ3(b, "PRI"))
		return CLS_NONE; /* the HTTP/2 connection preface, "PRI * HTTP/2.0" */
	if (tok + 1 < n) {
		__u8 c = b[(tok + 1) & 15];

		if (c != '/' && c != '*' && !is_upper(c) && !(c >= 'a' && c <= 'z'))
			return CLS_NONE;
	}
	return (CLS_REQUEST << 16) | method_of(b, tok);
}

/* classify_bytes() on the 16 bytes at `off` (a global function: verified once). */
__noinline int classify(struct __sk_buff *skb, __u32 off, __u32 end)
{
	__u8 b[16] = {};
	__u64 n = load_len(off, end, sizeof(b));

	if (!n || bpf_skb_load_bytes(skb, off, b, n))
		return CLS_NONE;
	return classify_bytes(b, n);
}

#define NAME_OTHER 0
#define NAME_CONTENT_LENGTH 1	/* "Content-Length:", 15 bytes */
#define NAME_TRANSFER_ENCODING 2	/* "Transfer-Encoding:", 18 bytes */

/* Which of the two names the 18 bytes at `b` start with, without regard to case (a word compare
 * each; bytes past what was loaded must read as zeros, which match neither name's). */
static __always_inline int header_name(const __u8 *b)
{
	__u64 a, w;
	__u16 c;

	__builtin_memcpy(&a, b, 8);
	__builtin_memcpy(&w, b + 8, 8);
	__builtin_memcpy(&c, b + 16, 2);
	a |= CASE_BITS;
	w |= CASE_BITS;
	if (a == LE8('t', 'r', 'a', 'n', 's', 'f', 'e', 'r') && w == LE8('-', 'e', 'n', 'c', 'o', 'd', 'i', 'n') &&
	    (c | 0x2020) == ('g' | ':' << 8))
		return NAME_TRANSFER_ENCODING;
	if (a == LE8('c', 'o', 'n', 't', 'e', 'n', 't', '-') &&
	    (w & 0x00ffffffffffffffULL) == LE8('l', 'e', 'n', 'g', 't', 'h', ':', 0))
		return NAME_CONTENT_LENGTH;
	return NAME_OTHER;
}

/* One byte of a Content-Length value: a digit (added to *v) or a blank go on (1); anything
 * else ends the value (0). */
static __always_inline int length_byte(__u8 d, long *v)
{
	if (is_digit(d)) {
		*v = *v * 10 + (d - '0');
		return 1;
	}
	return d == ' ' || d == '\t';
}

/* A header scan: where it stands, and what it found so far in this message's headers. Passed
 * to global functions as memory the verifier does not track value by value, which keeps the
 * number of states it explores small. */
struct scan {
	__u32 pos, end;
	__u32 hdr_end;		/* offset just past CRLF CRLF, 0 while not found */
	__u32 rolling;		/* the last four bytes, carried across segments */
	__u64 content_length;
	__u8 has_cl, chunked, pad[2];
	__u32 loaded;		/* buf holds the bytes at pos already (the message start) */
	__u8 cut, cut_len;	/* a line cut by the segment's end, as http_stream's */
	__u8 lines_read;	/* header lines read (header_in_buffer), up to LINES_READ */
	__u8 cut_line[HEADER_BYTES];
	__u8 buf[SCAN_CHUNK + 24]; /* room past the chunk for a header name read at its last LF */
};

#define LINE_OTHER (-2)
#define LINE_CHUNKED (-1)
#define LINE_CUT (-3)

/* One header line whose first `n` bytes are at `b` (zeros after them, at least HEADER_BYTES in
 * all): its Content-Length value, LINE_CHUNKED for a Transfer-Encoding header, LINE_OTHER for
 * anything else. `at_end`: the segment ends after those n bytes, so a line with no LF in them
 * goes on in the next segment; when it could still turn out to be one of the two (its name or
 * value cut), its bytes are kept in s->cut_line for the next segment to finish, and LINE_CUT. */
static __always_inline long header_line(struct scan *s, const __u8 *b, __u32 n, int at_end)
{
	long v = 0;
	__u32 i;
	int name = header_name(b);

	if (name == NAME_TRANSFER_ENCODING)
		return LINE_CHUNKED;
	if (name == NAME_CONTENT_LENGTH) {
		for (i = 15; i < HEADER_BYTES; i++) {
			if (i >= n || !length_byte(b[i], &v))
				break;
		}
		if (i < n || !at_end || n >= HEADER_BYTES)
			return v; /* the value ended here, or ran past what is read */
	} else {
		if (!at_end || n >= 18)
			return LINE_OTHER; /* both names are in the first 18 bytes */
		for (i = 0; i < 18; i++) {
			if (i >= n)
				break;
			if (b[i] == '\n')
				return LINE_OTHER; /* the line ended: not cut */
		}
	}
	__builtin_memcpy(s->cut_line, b, HEADER_BYTES);
	s->cut = 1;
	s->cut_len = n;
	return LINE_CUT;
}

/* What header_line() said of a line, noted in the scan. */
static __always_inline void note_line(struct scan *s, long v)
{
	if (v >= 0) {
		s->content_length = v;
		s->has_cl = 1;
	} else if (v == LINE_CHUNKED) {
		s->chunked = 1;
	}
}

/* One header line, at `pos` (just after a LF), read from the packet: header_line(). Names are
 * matched without regard to case. */
__noinline long header_at(struct __sk_buff *skb, struct scan *s, __u32 pos, __u32 end)
{
	__u8 b[HEADER_BYTES] = {};
	__u64 n;

	if (!s)
		return LINE_OTHER;
	n = load_len(pos, end, sizeof(b));
	if (n && bpf_skb_load_bytes(skb, pos, b, n))
		return LINE_OTHER;
	return header_line(s, b, n, pos + n == end);
}

/* The line the previous segment cut (s->cut_line), finished with this segment's first bytes:
 * its Content-Length or Transfer-Encoding noted in s. */
__noinline int finish_cut_line(struct __sk_buff *skb, struct scan *s)
{
	__u8 b[2 * HEADER_BYTES] = {};
	__u32 have;
	__u64 n;
	long v;

	if (!s)
		return 0;
	have = s->cut_len & (HEADER_BYTES - 1);
	s->cut = 0;
	__builtin_memcpy(b, s->cut_line, HEADER_BYTES);
	n = load_len(s->pos, s->end, HEADER_BYTES);
	if (n && bpf_skb_load_bytes(skb, s->pos, b + have, n))
		return 0;
	v = header_line(s, b, have + n, s->pos + n == s->end);
	note_line(s, v);
	return 0;
}

/* classify_bytes() on the chunk the scan loaded at a message start: one load serves both. */
__noinline int classify_chunk(struct scan *s)
{
	__u64 n;

	if (!s)
		return CLS_NONE;
	n = s->loaded > 16 ? 16 : s->loaded;
	barrier_var(n);
	return n >= 1 && n <= 16 ? classify_bytes(s->buf, n) : CLS_NONE;
}

/* 0x80 in each byte of `x` that is zero, nothing elsewhere (exact: no borrow between bytes). */
static __always_inline __u64 zero_bytes(__u64 x)
{
	return ~(((x & LOW7) + LOW7) | x | LOW7);
}

/* The index (0..7) of the lowest byte flagged in a zero_bytes() mask that is not 0: the flag's
 * power of 256 times 0x0001020304050607 has the index in its top byte. */
static __always_inline __u32 lowest_byte(__u64 mask)
{
	return (((mask & -mask) >> 7) * 0x0001020304050607ULL) >> 56;
}

/* A header line's name at `h` of s->buf (just after a LF): Content-Length's value noted, or
 * Transfer-Encoding taken as chunked. Read from the bytes loaded when the whole line is there
 * (the usual case: no call and no packet read for any header); else header_at() reads the
 * packet. A global function: verified once, not once per LF of the scan. */
__noinline int header_in_buffer(struct __sk_buff *skb, struct scan *s, __u32 h, __u32 n)
{
	long v = 0;

	if (!s)
		return 0;
	if (h + 18 <= n) {
		__u32 i = h & (SCAN_CHUNK - 1), j;
		int name = header_name(&s->buf[i]);

		if (name == NAME_TRANSFER_ENCODING) {
			s->chunked = 1;
			return 0;
		}
		if (name != NAME_CONTENT_LENGTH)
			return 0;
		/* The value, as header_at() reads it, when it ends within the bytes loaded. */
		for (j = 15; j < HEADER_BYTES; j++) {
			__u32 at = i + j;

			barrier_var(at);
			if (h + j >= n || at >= sizeof(s->buf))
				break;
			if (!length_byte(s->buf[at], &v)) {
				s->content_length = v;
				s->has_cl = 1;
				return 0;
			}
		}
	}
	v = header_at(skb, s, s->pos + h, s->end);
	note_line(s, v);
	return 0;
}

/* Scans the `n` bytes of s->buf loaded from s->pos; 1 when the headers ended in them. A word
 * (8 bytes) at a time, with byte masks rather than a step per byte: a word with no LF only
 * moves the last-four-bytes window (s->rolling, a little-endian word, oldest byte lowest); in
 * one that has, the masks say at once where CRLF CRLF ends and which LFs are followed by a 'c'
 * or a 't' (a Content-Length or Transfer-Encoding could start there), and only those do more.
 * Bytes past `n` read as 'c', so a LF that ends what was loaded is looked at by header_at(). */
__noinline int scan_buffer(struct __sk_buff *skb, struct scan *s, __u32 n)
{
	const __u64 lf8 = ONES * '\n', cr8 = ONES * '\r';
	__u32 w;

	if (!s)
		return 1;
	for (w = 0; w < SCAN_CHUNK / 8; w++) {
		__u32 at = w * 8, k, i;
		__u64 word, lf, end, cand, next;

		if (at >= n)
			break;
		__builtin_memcpy(&word, &s->buf[at & (SCAN_CHUNK - 8)], 8);
		k = n - at < 8 ? n - at : 8;
		if (k < 8) {
			__u64 keep = (1ULL << (k * 8)) - 1;

			word = (word & keep) | (ONES * 'c' & ~keep);
		}
		lf = zero_bytes(word ^ lf8);
		if (lf) {
			/* the stream's bytes 1, 2 and 3 before each of this word's */
			__u64 b1 = (word << 8) | (s->rolling >> 24), b2 = (word << 16) | (s->rolling >> 16),
			      b3 = (word << 24) | (s->rolling >> 8);
			__u8 after = at + 8 < n ? s->buf[(at + 8) & (SCAN_CHUNK - 1)] : 'c';

			end = lf & zero_bytes(b1 ^ cr8) & zero_bytes(b2 ^ lf8) & zero_bytes(b3 ^ cr8);
			next = ((word >> 8) | ((__u64)after << 56)) | CASE_BITS;
			cand = lf & (zero_bytes(next ^ (ONES * 'c')) | zero_bytes(next ^ (ONES * 't')));
			if (end)
				cand &= (end & -end) - 1; /* the headers' own lines only */
			/* At most four: a candidate is a LF and the byte after it. Past LINES_READ in
			 * this message and segment the rest are not read (the end is still looked for):
			 * real headers have a handful, while a segment of "\nc\nc..." would otherwise cost
			 * a call per two bytes, 37 us per 8 KiB, on every such segment a peer sends. */
			for (i = 0; i < 4 && cand && s->lines_read < LINES_READ; i++) {
				header_in_buffer(skb, s, at + lowest_byte(cand) + 1, n);
				s->lines_read++;
				cand &= cand - 1;
			}
			if (end) {
				s->hdr_end = s->pos + at + lowest_byte(end) + 1;
				return 1;
			}
		}
		/* the last four bytes of the k loaded (the filler shifted out) */
		if (k == 8)
			s->rolling = word >> 32;
		else
			s->rolling = (((word << 32) | s->rolling) >> (8 * k)) & 0xffffffffULL;
	}
	return 0;
}

/* Scans headers from s->pos to s->end, at most SCAN_CHUNKS chunks of SCAN_CHUNK bytes. */
__noinline int scan_headers(struct __sk_buff *skb, struct scan *s)
{
	__u32 k;
	__u64 n;

	if (!s)
		return 0;
	for (k = 0; k < SCAN_CHUNKS; k++) {
		if (s->loaded) {
			n = s->loaded;
			s->loaded = 0;
			if (n > SCAN_CHUNK)
				return 0;
		} else {
			n = load_len(s->pos, s->end, SCAN_CHUNK);
			if (!n || bpf_skb_load_bytes(skb, s->pos, s->buf, n))
				return 0;
		}
		if (scan_buffer(skb, s, n))
			return 0;
		s->pos += n;
	}
	return 0;
}

#define BE16(b) (((__u32)(b)[0] << 8) | (b)[1])
#define BE32(b) (((__u32)(b)[0] << 24) | ((__u32)(b)[1] << 16) | ((__u32)(b)[2] << 8) | (b)[3])

/* The protocol of a connection whose first payload is at `off`, for what is not HTTP: the
 * NET_PROTO_* value, plus 0x100 when the server speaks first (MySQL), or -1. A global function:
 * verified once. */
__noinline int detect_protocol(struct __sk_buff *skb, __u32 off, __u32 end)
{
	__u8 b[16] = {};
	__u64 n = load_len(off, end, sizeof(b));
	__u32 len;

	if (n < 8 || bpf_skb_load_bytes(skb, off, b, n))
		return -1;
	len = BE32(b);
	/* PostgreSQL: StartupMessage (protocol 3.0), SSLRequest or GSSENCRequest, length first. */
	if (len >= 8 && len <= 10000 && (BE32(b + 4) == 0x00030000 || BE32(b + 4) == 80877103 ||
					 BE32(b + 4) == 80877104))
		return NET_PROTO_POSTGRESQL;
	/* MySQL: the server's greeting, packet 0 of protocol 10, all in this segment. */
	if (b[3] == 0 && b[4] == 10 && (b[0] | (b[1] << 8) | (b[2] << 16)) == end - off - 4)
		return NET_PROTO_MYSQL | 0x100;
	/* Kafka: a request that fills the segment, a known API key range, a small version. */
	if (n >= 14 && len == end - off - 4 && BE16(b + 4) < 100 && BE16(b + 6) < 50 &&
	    (BE16(b + 12) == 0xffff || BE16(b + 12) < 256))
		return NET_PROTO_KAFKA;
	/* Redis: a RESP array of bulk strings, "*<1..3 digits>\r\n$" (fixed offsets: no variable
	 * index into the stack). */
	if (b[0] == '*' && is_digit(b[1])) {
		if (b[2] == '\r' && b[3] == '\n' && b[4] == '$')
			return NET_PROTO_REDIS;
		if (is_digit(b[2]) && b[3] == '\r' && b[4] == '\n' && b[5] == '$')
			return NET_PROTO_REDIS;
		if (is_digit(b[2]) && is_digit(b[3]) && b[4] == '\r' && b[5] == '\n' && b[6] == '$')
			return NET_PROTO_REDIS;
	}
	return -1;
}

static __always_inline struct http_cg_stats *stats_for(__u64 cgid)
{
	if (!cgid)
		return NULL;
	return nodepack_cgroup_lookup_or_init(&cg_http, &cgid, cgid, &zero_stats);
}

static __always_inline void push_request(struct http_conn *c, __u8 method, __u64 now)
{
	bpf_spin_lock(&c->lock);
	if (c->overflow || c->tail - c->head >= FIFO_DEPTH) {
		c->overflow++;
	} else {
		__u32 i = c->tail & (FIFO_DEPTH - 1);

		c->start_ns[i] = now;
		c->method[i] = method;
		c->tail++;
	}
	bpf_spin_unlock(&c->lock);
}

/* Pops the oldest outstanding request: 1 with its method and start (start 0: past the FIFO,
 * method unknown), 0 when none is outstanding. */
static __always_inline int pop_request(struct http_conn *c, __u8 *method, __u64 *start)
{
	int found = 1;

	bpf_spin_lock(&c->lock);
	if (c->head != c->tail) {
		__u32 i = c->head & (FIFO_DEPTH - 1);

		*start = c->start_ns[i];
		*method = c->method[i];
		c->head++;
	} else if (c->overflow) {
		c->overflow--;
		*start = 0;
		*method = HTTP_M_UNPARSED;
	} else {
		found = 0;
	}
	bpf_spin_unlock(&c->lock);
	return found;
}

/* When a message's first segment passes, in bpf_ktime_get_ns()'s clock. On egress TCP has
 * stamped the segment already with its departure time from that same monotonic clock (its
 * EDT stamp, tcp_wstamp_ns: now, or later only on a paced socket), which saves a clock read
 * (33-38 ns of the 250 a message cost here); received segments carry no such stamp. */
static __always_inline __u64 message_time(struct __sk_buff *skb, int stream)
{
	if (stream == 0) {
		__u64 t = skb->tstamp;

		if (t)
			return t;
	}
	return bpf_ktime_get_ns();
}

static __always_inline __u32 status_class(__u32 status)
{
	return status >= 100 && status <= 599 ? status / 100 - 1 : HTTP_STATUS_UNPARSED;
}

/* A response starts on stream `stream`; status 0: its status line is cut short. */
static __always_inline void on_response(struct __sk_buff *skb, struct http_conn *c, struct http_stream *st,
					int stream, __u32 status)
{
	__u32 dir = stream == 0 ? HTTP_DIR_SERVER : HTTP_DIR_CLIENT;
	__u32 cls = status_class(status);
	struct http_cg_stats *stats;
	__u64 start = 0, now, idx;
	__u8 method = 0;

	st->no_body = (status >= 100 && status < 200) || status == 204 || status == 304;
	if (status >= 100 && status < 200 && status != 101)
		return; /* interim (100 Continue, 103 Early Hints): the final response follows */
	now = message_time(skb, stream);
	stats = stats_for(c->cgid);
	if (!pop_request(c, &method, &start)) {
		if (stats)
			__sync_fetch_and_add(&stats->unmatched_responses[dir & 1], 1);
		return;
	}
	if (method == HTTP_M_HEAD)
		st->no_body = 1;
	if (status == 101)
		c->upgraded = 1;
	if (!stats)
		return;
	/* One flat index, bounded on the register that is used (the verifier cannot follow the
	 * three bounds through clang's arithmetic). */
	idx = ((__u64)dir * HTTP_METHODS + method) * HTTP_STATUS_CLASSES + cls;
	barrier_var(idx);
	if (idx >= HTTP_DIRS * HTTP_METHODS * HTTP_STATUS_CLASSES)
		return;
	__sync_fetch_and_add(&stats->requests[0][0][0] + idx, 1);
	if (start && now > start)
		nodepack_hist_record(&stats->latency[dir & 1], now - start, true);
}

/* Starts a message at `off` if one starts there; 0 when none does. */
static __always_inline int start_message(struct __sk_buff *skb, struct http_conn *c, struct http_stream *st,
					 int stream, int cls)
{
	int kind = cls >> 16;

	if (kind == CLS_SHORT_MAYBE_RESPONSE)
		kind = c->request_stream == (stream ^ 1) ? CLS_RESPONSE : CLS_SHORT;
	if (kind == CLS_REQUEST || kind == CLS_SHORT) {
		push_request(c, kind == CLS_REQUEST ? (cls & 0xff) : HTTP_M_UNPARSED, message_time(skb, stream));
		c->request_stream = stream;
		st->no_body = 0;
		st->response = 0;
	} else if (kind == CLS_RESPONSE) {
		on_response(skb, c, st, stream, (cls >> 16) == CLS_RESPONSE ? (cls & 0xffff) : 0);
		st->response = 1;
	} else {
		return 0;
	}
	st->phase = PH_HEADERS;
	st->rolling = 0;
	st->has_cl = 0;
	st->chunked = 0;
	st->cut = 0;
	st->content_length = 0;
	return 1;
}

/* A chunk-size line (RFC 9112 7.1: hex digits, an optional extension, CRLF) read from `pos`,
 * perhaps continuing one the previous segment cut. Passed to a global function, as struct scan. */
struct chunk_line {
	__u32 pos, end;
	__u64 size;		/* the digits so far */
	__u8 digits, in_ext;	/* as http_stream's chunk_digits and chunk_ext */
	__u8 done;		/* its LF was read: the line ended just before pos */
	__u8 bad;		/* not a size line: the body's framing is lost */
};

#define CHUNK_LINE_BYTES 16	/* read at a time; a longer extension takes another step */

__noinline int read_chunk_line(struct __sk_buff *skb, struct chunk_line *l)
{
	__u8 b[CHUNK_LINE_BYTES] = {};
	__u64 n;
	__u32 i;

	if (!l)
		return 0;
	n = load_len(l->pos, l->end, sizeof(b));
	if (!n || bpf_skb_load_bytes(skb, l->pos, b, n)) {
		l->bad = 1;
		return 0;
	}
	for (i = 0; i < sizeof(b); i++) {
		__u8 c = b[i];

		if (i >= n)
			break;
		if (c == '\n') {
			l->done = 1;
			l->bad = !l->digits;
			i++;
			break;
		}
		if (l->in_ext)
			continue;
		if (is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')) {
			/* 15 digits: a chunk of up to 2^60 bytes, already more than any body */
			if (++l->digits > 15) {
				l->bad = 1;
				return 0;
			}
			l->size = l->size * 16 + (is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10);
		} else if (l->digits && (c == ';' || c == ' ' || c == '\t' || c == '\r')) {
			l->in_ext = 1;
		} else {
			l->bad = 1;
			return 0;
		}
	}
	l->pos += i;
	return 0;
}

/* A chunked body whose framing was lost ends, we guess, in a segment ending with the zero-size
 * chunk and an empty trailer. */
static __always_inline int ends_chunked_body(struct __sk_buff *skb, __u32 end)
{
	__u8 t[5];

	if (end < 5 || bpf_skb_load_bytes(skb, end - 5, t, 5))
		return 0;
	return t[0] == '0' && t[1] == '\r' && t[2] == '\n' && t[3] == '\r' && t[4] == '\n';
}

/* Received segments can arrive past a hole (a segment lost on the way, or overtaken): TCP
 * delivers the missing bytes later, when they are behind next_seq and so not looked at. Bytes
 * missing from a body are body bytes all the same, so the body's count goes on; a hole anywhere
 * else took the stream's place with it (a message start in it is missed), and the stream is
 * taken up again at whatever next starts a message, as after headers given up. */
static __always_inline void skip_gap(struct http_stream *st, __u64 gap)
{
	if (st->skip >= gap) {
		st->skip -= gap;
		return;
	}
	st->skip = 0;
	st->cut = 0;
	if (st->phase == PH_CHUNKED)
		st->phase = PH_CHUNK_LOST;
	else if (st->phase != PH_UNTIL_CLOSE && st->phase != PH_CHUNK_LOST)
		st->phase = PH_IDLE;
}

static __always_inline void on_segment(struct __sk_buff *skb, int stream)
{
	__u32 tcp_off = 0, seq, off = tcp_payload_offset(skb, &tcp_off), end = skb->len;
	struct bpf_sock *sk = skb->sk;
	struct http_stream *st;
	struct http_conn *c;
	int cls = 0, m;

	if (!off || !sk)
		return;
	/* Storage takes the socket as it comes (the helper checks for a full socket itself): no
	 * bpf_sk_fullsock call per segment. Connections found not to be HTTP stop at the second
	 * lookup, in not_http. */
	c = bpf_sk_storage_get(&conns, sk, 0, 0);
	if (!c) {
		/* The connection's first payload: what protocol is it? */
		int proto = NET_PROTO_HTTP, server_first = 0;
		struct http_cg_stats *stats;
		__u64 idx, cgid;
		__u32 dir;

		if (bpf_sk_storage_get(&not_http, sk, 0, 0))
			return; /* named at its first payload, and not HTTP */
		cls = classify(skb, off, end);
		/* An HTTP connection's first message is a request but for a server that speaks
		 * first (seen as an unmatched response): its sender is then the server. */
		server_first = (cls >> 16) == CLS_RESPONSE;
		if (!cls) {
			proto = detect_protocol(skb, off, end);
			server_first = proto >= 0x100;
			proto = proto < 0 ? NET_PROTOCOLS : proto & 0xff;
		}
		/* Storage first (the connection is counted once it has some): an http_conn for
		 * HTTP, a byte for the rest, which are never looked at again. */
		if (cls) {
			c = bpf_sk_storage_get(&conns, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
			if (!c)
				return;
			c->request_stream = 0xff;
		} else if (!bpf_sk_storage_get(&not_http, sk, 0, BPF_SK_STORAGE_GET_F_CREATE)) {
			return;
		}
		cgid = bpf_skb_cgroup_id(skb);
		/* The side that speaks first is the client, but for MySQL. */
		dir = (stream == 0) == !server_first ? HTTP_DIR_CLIENT : HTTP_DIR_SERVER;
		idx = (__u64)dir * NET_PROTOCOLS + proto;
		barrier_var(idx);
		stats = proto < NET_PROTOCOLS ? stats_for(cgid) : NULL;
		if (stats && idx < HTTP_DIRS * NET_PROTOCOLS)
			__sync_fetch_and_add(&stats->protocol_connections[0][0] + idx, 1);
		if (!c)
			return;
		c->cgid = cgid;
	}
	if (c->upgraded || nodepack_packet_read(skb, tcp_off + 4, &seq, 4))
		return;
	seq = bpf_ntohl(seq);
	st = &c->s[stream & 1];
	if (st->seq_known) {
		__s32 behind = (__s32)(st->next_seq - seq);

		/* A retransmission (seen on both sides: cgroup_skb ingress runs before TCP drops
		 * duplicates) or an overlap: only new bytes are looked at, else a request would be
		 * pushed twice and every later response paired with the wrong one. */
		if (behind > 0) {
			if ((__u32)behind >= end - off)
				return;
			off += behind;
			seq += behind;
			cls = 0;
		} else if (behind < 0) {
			skip_gap(st, -(__s64)behind);
		}
	}
	st->seq_known = 1;
	st->next_seq = seq + (end - off);
	for (m = 0; m < MSGS_PER_SEGMENT; m++) {
		if (off >= end)
			return;
		if (st->skip) {
			__u32 left = end - off;

			if (st->skip >= left) {
				st->skip -= left;
				return;
			}
			off += st->skip;
			st->skip = 0;
			cls = 0;
			continue;
		}
		if (st->phase == PH_CHUNKED) {
			struct chunk_line l = {.pos = off, .end = end, .size = st->content_length,
					       .digits = st->chunk_digits, .in_ext = st->chunk_ext};

			read_chunk_line(skb, &l);
			if (l.bad) {
				st->phase = PH_CHUNK_LOST;
				continue;
			}
			off = l.pos;
			if (!l.done) {
				/* cut by the segment's end (or a long extension): go on from here */
				st->content_length = l.size;
				st->chunk_digits = l.digits;
				st->chunk_ext = l.in_ext;
				continue;
			}
			st->content_length = 0;
			st->chunk_digits = 0;
			st->chunk_ext = 0;
			if (l.size) {
				/* the chunk's data and its CRLF: skipped here when they end in this
				 * segment (no step of its own), else on the segments to come */
				if (l.size + 2 >= end - off) {
					st->skip = l.size + 2 - (end - off);
					return;
				}
				off += (__u32)l.size + 2;
				continue;
			}
			/* The last chunk: trailer fields, if any, then an empty line, scanned as headers
			 * would be from a window that has just seen the size line's CRLF. No body after. */
			st->phase = PH_HEADERS;
			st->rolling = (__u32)'\n' << 24 | (__u32)'\r' << 16 | (__u32)'0' << 8;
			st->no_body = 1;
			continue;
		}
		if (st->phase == PH_UNTIL_CLOSE)
			return;
		if (st->phase == PH_CHUNK_LOST) {
			/* Not a size line where one should be (or more chunks in a segment than it has
			 * steps): bodies are no longer skipped by their framing. Rather than take a chunk's
			 * data for a message, wait for a segment that ends as a chunked body does; a
			 * message after the body in that segment is missed. */
			if (ends_chunked_body(skb, end))
				st->phase = PH_IDLE;
			return;
		}
		struct scan s = {.pos = off, .end = end};

		if (st->phase == PH_IDLE) {
			/* The message start's first chunk: classified, then scanned, from one load. */
			__u64 n = load_len(off, end, SCAN_CHUNK);

			if (!n || bpf_skb_load_bytes(skb, off, s.buf, n))
				return;
			s.loaded = n;
			if (!cls)
				cls = classify_chunk(&s);
			if (!start_message(skb, c, st, stream, cls))
				return;
			cls = 0;
		}
		s.rolling = st->rolling;
		s.content_length = st->content_length;
		s.has_cl = st->has_cl;
		s.chunked = st->chunked;
		if (st->cut && st->phase == PH_HEADERS) {
			/* the headers' last line in the previous segment was cut: finish it first */
			s.cut_len = st->cut_len;
			__builtin_memcpy(s.cut_line, st->cut_line, HEADER_BYTES);
			st->cut = 0;
			finish_cut_line(skb, &s);
		}
		scan_headers(skb, &s);
		st->rolling = s.rolling;
		st->content_length = s.content_length;
		st->has_cl = s.has_cl;
		st->chunked = s.chunked;
		if (!s.hdr_end && s.cut) {
			st->cut = 1;
			st->cut_len = s.cut_len;
			__builtin_memcpy(st->cut_line, s.cut_line, HEADER_BYTES);
		}
		if (!s.hdr_end) {
			/* Headers go on in the next segment, unless the scan gave up on them: then the
			 * stream is taken up again at whatever starts a message. */
			if (s.pos < end)
				st->phase = PH_IDLE;
			return;
		}
		off = s.hdr_end;
		if (st->no_body) {
			st->phase = PH_IDLE;
		} else if (st->chunked) {
			st->phase = PH_CHUNKED;
		} else if (!st->has_cl && st->response) {
			/* Neither framed: a response's body runs to the connection's close (a request's
			 * is empty). Nothing more on this stream is a message. */
			st->phase = PH_UNTIL_CLOSE;
			return;
		} else {
			/* The body: skipped here when it ends in this segment (no step of its own, so a
			 * burst of small responses takes a step each), else on the segments to come. */
			st->phase = PH_IDLE;
			if (st->content_length >= end - off) {
				st->skip = st->content_length - (end - off);
				return;
			}
			off += (__u32)st->content_length;
		}
	}
	/* Out of steps with bytes left (a pipelined burst of more messages than that): a body that
	 * runs past the segment keeps its count; otherwise the stream is taken up again at whatever
	 * starts the next segment, rather than skipping into it a body this one already held. The
	 * requests not looked at are not counted; their responses, where looked at, are unmatched. */
	if (off < end) {
		__u32 left = end - off;

		if (st->skip > left) {
			st->skip -= left;
		} else {
			st->skip = 0;
			/* more chunks than steps: this segment may hold the body's end */
			st->phase = st->phase == PH_CHUNKED && !ends_chunked_body(skb, end) ? PH_CHUNK_LOST : PH_IDLE;
		}
	}
}

SEC("cgroup_skb/egress")
int http_egress(struct __sk_buff *skb)
{
	on_segment(skb, 0);
	return 1;
}

SEC("cgroup_skb/ingress")
int http_ingress(struct __sk_buff *skb)
{
	on_segment(skb, 1);
	return 1;
}
