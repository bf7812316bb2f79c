// SPDX-License-Identifier: GPL-2.0
/* Per-pod connection topology.
 *
 * TCP: sock:inet_sock_set_state only, charged through the socket's cgroup (sk->sk_cgrp_data; a
 * passive open's child socket inherits its listener's), never through whatever task is current
 * (softirq for passive opens and refusals).
 *
 *  - outbound: SYN_SENT -> ESTABLISHED, peer = remote address and port
 *  - failure:  SYN_SENT -> CLOSE (RST received, SYN retries exhausted, connect aborted)
 *  - inbound:  SYN_RECV -> ESTABLISHED, peer = remote address, port = the local (listening) port
 *
 * UDP: cgroup sock_addr programs user space attaches to every kubepods cgroup. They only read the
 * address and always return 1 (allow); a UDP "connection" is a flow a socket begins:
 *
 *  - outbound: every connect() (cgroup/connect4, connect6), peer = the address connected to
 *  - outbound: a datagram sent with an explicit address (cgroup/sendmsg4, sendmsg6: the kernel
 *    runs them only then, not for send() on a connected socket) to a peer the socket has not
 *    exchanged datagrams with lately
 *  - inbound: a datagram received with its source address asked for (cgroup/recvmsg4, recvmsg6:
 *    recvfrom()/recvmsg() with a name) from a peer the socket has not exchanged datagrams with
 *    lately; port = the socket's local port
 *
 * "Lately": the socket's last TOPOLOGY_UDP_RECENT_PEERS peers, in both directions, in its socket
 * storage. So 1000 datagrams to one peer count 1, the replies to a client's query are not a flow
 * of their own (the client is among the server's recent peers), and a socket cycling through more
 * peers than it remembers counts a flow each time one comes back (at most one per datagram).
 * Two threads sending on one socket at the same moment may both count a new peer.
 *
 * UDP is charged through the socket's cgroup too (bpf_cast_to_kern_ctx reaches the socket; sock_addr
 * programs have no bpf_sk_cgroup_id), so a socket a process of another cgroup uses is still its
 * pod's. The programs run from the socket's cgroup's effective programs: only for sockets made
 * under kubepods.
 *
 * UDP failures: a connected UDP socket learns from an ICMP error (port or host unreachable) that
 * its peer is not there. The kernel records the error on the socket (sk_err, which the socket's
 * next send() or recv() returns) and reports it (sk_error_report), which passes the tracepoint
 * sock:inet_sk_error_report (Linux 5.14): an ECONNREFUSED, EHOSTUNREACH or ENETUNREACH reported
 * on a connected UDP socket is a failure on the edge of the address it is connected to (the edge
 * its connect() counted), one per ICMP error. An unconnected socket is never told (without
 * IP_RECVERR, whose errors arrive as data on the error queue), so its flows have no failures.
 * The tracepoint fires on errors only; the send and receive tracepoints that also see them
 * (sock_send_length, sock_recv_length) would run on every system call of every socket.
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
#define IPPROTO_UDP_ 17
/* asm-generic/errno.h: the same on x86-64 and arm64 */
#define ENETUNREACH_ 101
#define ECONNREFUSED_ 111
#define EHOSTUNREACH_ 113

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TOPOLOGY_MAX_EDGES);
	__type(key, struct topology_key);
	__type(value, struct topology_counts);
} edges SEC(".maps");

/* A UDP socket's recent peers (see above): a ring, `next` the slot the next new peer takes. */
struct udp_peer {
	__u64 addr[2];
	__u16 port; /* the remote port, host order */
	__u16 family;
	__u32 pad;
};

struct udp_recent {
	struct udp_peer peers[TOPOLOGY_UDP_RECENT_PEERS];
	__u32 next;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct udp_recent);
} udp_recent SEC(".maps");

static const struct topology_counts zero_counts;

static __always_inline void count_edge(const struct topology_key *key, bool failure)
{
	struct topology_counts *c = nodepack_cgroup_lookup_or_init(&edges, key, key->cgroup_id, &zero_counts);

	if (!c)
		return;
	/* Not per-CPU: a connection event is rare next to packets, and an edge's two CPUs may race. */
	if (failure)
		__sync_fetch_and_add(&c->failures, 1);
	else
		__sync_fetch_and_add(&c->connections, 1);
}

static __always_inline void on_state(const struct sock *sk, int oldstate, int newstate)
{
	struct topology_key key = {};
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

	count_edge(&key, failure);
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

static __always_inline bool same_peer(const struct udp_peer *a, const struct udp_peer *b)
{
	return a->addr[0] == b->addr[0] && a->addr[1] == b->addr[1] && a->port == b->port && a->family == b->family;
}

/* True when `peer` is among the socket's recent peers; else makes it one (replacing the oldest). */
static __always_inline bool recent_or_remember(struct udp_recent *recent, const struct udp_peer *peer, bool check)
{
	if (check) {
		for (int i = 0; i < TOPOLOGY_UDP_RECENT_PEERS; i++) {
			if (same_peer(&recent->peers[i], peer))
				return true;
		}
	}
	recent->peers[recent->next & (TOPOLOGY_UDP_RECENT_PEERS - 1)] = *peer;
	recent->next++;
	return false;
}

/* Linux 6.2: the kernel's view of a program's context, here the socket itself. Weak, so that
 * the object still loads (its TCP program) where the kernel lacks it; user space loads the UDP
 * programs only where it has it (the "cgroup_sock_addr" feature). */
extern void *bpf_cast_to_kern_ctx(void *obj) __ksym __weak;

/* The socket's cgroup, as for TCP (not the calling task's: a socket may be used by a process of
 * another cgroup than the one that made it). */
static __always_inline __u64 udp_socket_cgroup_id(struct bpf_sock_addr *ctx)
{
	struct bpf_sock_addr_kern *kctx = bpf_cast_to_kern_ctx(ctx);

	return nodepack_sock_cgroup_id(kctx->sk);
}

/* One UDP event: `ctx`'s address is the peer (the destination of a connect or send, the source of
 * a received datagram). `family`: the hook's (a constant: the verifier refuses the compiler's
 * merged reads of user_ip4 and user_ip6). `every`: count it even when the peer is a recent one. */
static __always_inline void on_udp(struct bpf_sock_addr *ctx, __u16 family, __u8 direction, bool every)
{
	struct topology_key key = {};
	struct udp_peer peer = {};
	struct udp_recent *recent;
	struct bpf_sock *sk = ctx->sk;

	if (!sk || ctx->protocol != IPPROTO_UDP_)
		return; /* connect4/6 run for TCP too; UDP-Lite and ping sockets are not counted */
	if (ctx->user_family != family)
		return;
	peer.family = family;
	if (family == AF_INET_) {
		__u32 a = ctx->user_ip4;

		__builtin_memcpy(&peer.addr, &a, sizeof(a));
	} else {
		__u32 a[4] = {ctx->user_ip6[0], ctx->user_ip6[1], ctx->user_ip6[2], ctx->user_ip6[3]};

		__builtin_memcpy(&peer.addr, a, sizeof(a));
	}
	peer.port = bpf_ntohs((__u16)ctx->user_port);
	recent = bpf_sk_storage_get(&udp_recent, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	/* No storage (out of memory): counted, as a socket that remembers nothing would be. */
	if (recent && recent_or_remember(recent, &peer, !every))
		return;

	key.cgroup_id = udp_socket_cgroup_id(ctx);
	if (!key.cgroup_id)
		return;
	__builtin_memcpy(key.addr, &peer.addr, sizeof(key.addr));
	key.port = direction == TOPOLOGY_OUTBOUND ? peer.port : sk->src_port;
	key.direction = direction;
	key.protocol = IPPROTO_UDP_;
	key.family = peer.family;
	count_edge(&key, false);
}

/* sock_addr programs must allow (1); recvmsg ones may return nothing else. */
#define UDP_HOOK(hook, family, direction, every)              \
	SEC("cgroup/" #hook)                                  \
	int topology_udp_##hook(struct bpf_sock_addr *ctx)    \
	{                                                     \
		on_udp(ctx, family, direction, every);        \
		return 1;                                     \
	}

UDP_HOOK(connect4, AF_INET_, TOPOLOGY_OUTBOUND, true)
UDP_HOOK(connect6, AF_INET6_, TOPOLOGY_OUTBOUND, true)
UDP_HOOK(sendmsg4, AF_INET_, TOPOLOGY_OUTBOUND, false)
UDP_HOOK(sendmsg6, AF_INET6_, TOPOLOGY_OUTBOUND, false)
UDP_HOOK(recvmsg4, AF_INET_, TOPOLOGY_INBOUND, false)
UDP_HOOK(recvmsg6, AF_INET6_, TOPOLOGY_INBOUND, false)

/* An error ICMP reports to a connected UDP socket (see above), as sk_err holds it (positive);
 * anything else reported (a TCP reset, a timeout) is not a failure of a UDP flow. */
static __always_inline bool icmp_error(int err)
{
	return err == ECONNREFUSED_ || err == EHOSTUNREACH_ || err == ENETUNREACH_;
}

/* An error reported on a socket, in softirq as the ICMP error arrives: charged through the
 * socket's cgroup, not the task that happens to run. */
static __always_inline void on_error_report(const struct sock *sk)
{
	struct topology_key key = {};

	if (!sk || nodepack_sk_protocol(sk) != IPPROTO_UDP_)
		return; /* TCP's resets and timeouts pass here too */
	if (!icmp_error(BPF_CORE_READ(sk, sk_err)))
		return;
	key.cgroup_id = nodepack_sock_cgroup_id(sk);
	if (!key.cgroup_id)
		return;
	key.family = BPF_CORE_READ(sk, __sk_common.skc_family);
	/* A v4-mapped peer stays as the socket has it: user space names the peer unmapped, as it
	 * does the connect6 program's. */
	if (key.family == AF_INET6_) {
		BPF_CORE_READ_INTO(&key.addr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
	} else if (key.family == AF_INET_) {
		__be32 daddr = BPF_CORE_READ(sk, __sk_common.skc_daddr);

		__builtin_memcpy(key.addr, &daddr, sizeof(daddr));
	} else {
		return;
	}
	key.port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (!key.port)
		return; /* not connected: such a socket is told nothing unless it asked (see above) */
	key.direction = TOPOLOGY_OUTBOUND;
	key.protocol = IPPROTO_UDP_;
	count_edge(&key, true);
}

SEC("tp_btf/inet_sk_error_report")
int BPF_PROG(topology_udp_error, const struct sock *sk)
{
	on_error_report(sk);
	return 0;
}
