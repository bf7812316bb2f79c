// Real topology programs, UDP: datagrams between fake pods (the topology fixture's), counted by the
// cgroup connect/sendmsg/recvmsg programs as flows a socket begins, one per socket and peer while
// the peer is among the socket's last four; TCP between the same pods on the same port number is
// its own edge. The kernel calls the sendmsg/recvmsg programs once per datagram of a sendmmsg or
// recvmmsg: the counts below hold only if it does.
#include "tests/bpf/topology_fixture.hpp"

#include <boost/json.hpp>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <fstream>

using namespace nodepack::bpf::test::topology;

namespace {

constexpr int kExchanges = 50;       // s1: datagrams to B, each answered
constexpr int kConnectedSends = 10;  // s2: datagrams on the socket connected to C, each answered
constexpr std::uint16_t kNobodyPort = 9;

struct UdpPorts {
  std::uint16_t b = 0, c = 0;  // B's UDP (and TCP) port, C's UDP port
};

int udp_socket(const char* ip) {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  auto a = addr_of(ip, 0);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    ::_exit(30);
  }
  return fd;
}

std::uint16_t local_port(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

void send_to(int fd, const char* ip, std::uint16_t port) {
  auto to = addr_of(ip, port);
  if (::sendto(fd, "q", 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 1) {
    ::_exit(31);
  }
}

// Receives one datagram with its source address (what the recvmsg programs see) into `from`.
void receive_from(int fd, sockaddr_in& from) {
  char buf[16];
  socklen_t len = sizeof(from);
  if (::recvfrom(fd, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &len) < 0) {
    ::_exit(32);
  }
}

// A server: answers each of `answered` datagrams to its sender, then takes `batched` more in
// one recvmmsg without answering.
void serve(int fd, int answered, int batched) {
  for (int i = 0; i < answered; ++i) {
    sockaddr_in from{};
    receive_from(fd, from);
    if (::sendto(fd, "a", 1, 0, reinterpret_cast<sockaddr*>(&from), sizeof(from)) != 1) {
      ::_exit(33);
    }
  }
  std::array<sockaddr_in, 4> names{};
  std::array<char, 4> bytes{};
  std::array<iovec, 4> iov{};
  std::array<mmsghdr, 4> msgs{};
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    iov[i] = {&bytes[i], 1};
    msgs[i].msg_hdr.msg_name = &names[i];
    msgs[i].msg_hdr.msg_namelen = sizeof(names[i]);
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  for (int got = 0; got < batched;) {
    const int n = ::recvmmsg(fd, msgs.data(), static_cast<unsigned>(batched - got), 0, nullptr);
    if (n <= 0) {
      ::_exit(34);
    }
    got += n;
  }
}

// Pod A's sockets; every one on A's address.
//  s1: 50 datagrams to B, each answer received with its address           -> 1 flow to B
//  s2: connect() to C, 10 send()s, each answer received with its address  -> 1 flow to C
//  s3: 5 datagrams to an address no pod owns                              -> 1 flow there
//  s4: one sendmmsg of three: B, B, the address no pod owns               -> 1 to B, 1 there
//  s5: to ports 20, 21 of that address, three rounds (it remembers both)  -> 1 each
//  s6: to ports 30..34, two rounds (more than the four it remembers)      -> 2 each
//  s7: IPv6 socket, to 127.0.9.9:40 as a v4-mapped address                -> 1 (the IPv4 program)
//  s8: IPv6 socket, connect() to [::1]:41                                 -> 1 (connect6)
//  and one TCP connection to B's TCP listener on the UDP port's number;
//  s9: made in A, used after the process moved to the idle pod, to port 50  -> 1, charged to A
void run_client(const UdpPorts& p, const std::filesystem::path& idle) {
  const int s1 = udp_socket(kAddrA);
  for (int i = 0; i < kExchanges; ++i) {
    sockaddr_in from{};
    send_to(s1, kAddrB, p.b);
    receive_from(s1, from);
  }
  const int s2 = udp_socket(kAddrA);
  auto c = addr_of(kAddrC, p.c);
  if (::connect(s2, reinterpret_cast<sockaddr*>(&c), sizeof(c)) != 0) {
    ::_exit(35);
  }
  for (int i = 0; i < kConnectedSends; ++i) {
    sockaddr_in from{};
    if (::send(s2, "q", 1, 0) != 1) {
      ::_exit(36);
    }
    receive_from(s2, from);
  }
  const int s3 = udp_socket(kAddrA);
  for (int i = 0; i < 5; ++i) {
    send_to(s3, kNobody, kNobodyPort);
  }
  const int s4 = udp_socket(kAddrA);
  std::array<sockaddr_in, 3> to{addr_of(kAddrB, p.b), addr_of(kAddrB, p.b), addr_of(kNobody, kNobodyPort)};
  std::array<iovec, 3> iov{};
  std::array<mmsghdr, 3> msgs{};
  char byte = 'm';
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    iov[i] = {&byte, 1};
    msgs[i].msg_hdr.msg_name = &to[i];
    msgs[i].msg_hdr.msg_namelen = sizeof(to[i]);
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  if (::sendmmsg(s4, msgs.data(), msgs.size(), 0) != 3) {
    ::_exit(37);
  }
  const int s5 = udp_socket(kAddrA);
  for (int round = 0; round < 3; ++round) {
    send_to(s5, kNobody, 20);
    send_to(s5, kNobody, 21);
  }
  const int s6 = udp_socket(kAddrA);
  for (int round = 0; round < 2; ++round) {
    for (std::uint16_t port = 30; port <= 34; ++port) {
      send_to(s6, kNobody, port);
    }
  }
  const int s7 = ::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in6 mapped{};
  mapped.sin6_family = AF_INET6;
  mapped.sin6_port = htons(40);
  ::inet_pton(AF_INET6, "::ffff:127.0.9.9", &mapped.sin6_addr);
  if (s7 < 0 || ::sendto(s7, "q", 1, 0, reinterpret_cast<sockaddr*>(&mapped), sizeof(mapped)) != 1) {
    ::_exit(38);
  }
  const int s8 = ::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in6 v6{};
  v6.sin6_family = AF_INET6;
  v6.sin6_port = htons(41);
  v6.sin6_addr = in6addr_loopback;
  if (s8 < 0 || ::connect(s8, reinterpret_cast<sockaddr*>(&v6), sizeof(v6)) != 0) {
    ::_exit(39);
  }
  if (!connect_from(kAddrA, kAddrB, p.b)) {
    ::_exit(40);
  }
  const int s9 = udp_socket(kAddrA);
  std::ofstream(idle / "cgroup.procs") << ::getpid() << std::flush;
  send_to(s9, kNobody, 50);
  ::_exit(0);
}

// B serves UDP (s1's 50 exchanges, then s4's two datagrams in one recvmmsg) and listens for TCP on
// the same port number; C serves s2's 10.
UdpPorts run_workload(Pods& pods) {
  int port_pipe[2];
  REQUIRE(::pipe(port_pipe) == 0);
  auto server = [&](const char* ip, int answered, int batched, bool tcp) {
    return [=] {
      const int fd = udp_socket(ip);
      std::uint16_t port = local_port(fd);
      int listener = -1;
      if (tcp) {
        listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        auto a = addr_of(ip, port);
        if (listener < 0 || ::bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
            ::listen(listener, 4) != 0) {
          ::_exit(41);
        }
      }
      if (::write(port_pipe[1], &port, sizeof(port)) != sizeof(port)) {
        ::_exit(42);
      }
      serve(fd, answered, batched);
      if (tcp && ::accept(listener, nullptr, nullptr) < 0) {
        ::_exit(43);  // the client's connection: accepted so it is established on both sides
      }
      ::_exit(0);
    };
  };
  UdpPorts ports;
  const int srv_b = nb::test::spawn_in_cgroup(pods.b, server(kAddrB, kExchanges, 2, true));
  REQUIRE(::read(port_pipe[0], &ports.b, 2) == 2);
  const int srv_c = nb::test::spawn_in_cgroup(pods.c, server(kAddrC, kConnectedSends, 0, false));
  REQUIRE(::read(port_pipe[0], &ports.c, 2) == 2);
  const UdpPorts p = ports;
  const int cli = nb::test::spawn_in_cgroup(pods.a, [p, idle = pods.idle] { run_client(p, idle); });
  nb::test::wait_all({cli, srv_b, srv_c});
  ::close(port_pipe[0]);
  ::close(port_pipe[1]);
  return ports;
}

using Labels = std::map<std::string, std::string>;

Labels edge(std::string pod, std::string dir, std::string kind, std::string ns, std::string wl, std::uint16_t port,
            std::string protocol = "udp") {
  return Labels{{"pod", pod},           {"direction", dir},    {"peer_kind", kind},
                {"peer_namespace", ns}, {"peer_workload", wl}, {"port", std::to_string(port)},
                {"protocol", protocol}};
}

// The topology collector on the real kernel, peers named by workload, started.
nodepack::testing::TestRegistry started_topology(const Pods& pods) {
  auto reg =
      nb::test::registry_for({"topology"}, pods.tree.root(), pods.lookup, std::make_unique<nb::KernelFeatureProbe>(),
                             {}, options(pods, kp::PeerGranularity::workload));
  reg->start();
  REQUIRE(reg->status()["topology"]);
  return reg;
}

}  // namespace

TEST_CASE("topology: UDP flows between pods from the cgroup socket programs, next to TCP", "[bpf][topology]") {
  NODEPACK_REQUIRE_BPF_OR_SKIP();
  Pods pods;
  auto reg = started_topology(pods);
  const auto ports = run_workload(pods);
  // UDP is counted inside the system calls, all done by now; the TCP server's side of the
  // connection completes when the client's ACK lands.
  auto& t = *topology_of(reg);
  wait_for_totals(t, 25, 0);
  const char* conns = "kpod_net_connections_total";
  const char* fails = "kpod_net_connection_failures_total";
  auto f = reg->Collect();

  SECTION("outbound: one flow per socket and peer, unconnected or connected") {
    CHECK(value(f, conns, edge("client-7d9f-abc", "outbound", "pod", "web", "server", ports.b)) == 2);  // s1, s4
    CHECK(value(f, conns, edge("client-7d9f-abc", "outbound", "pod", "db", "store", ports.c)) == 1);    // s2
    CHECK(value(f, fails, edge("client-7d9f-abc", "outbound", "pod", "db", "store", ports.c)) == 0);
    CHECK(value(f, conns, edge("client-7d9f-abc", "outbound", "external", "", "loopback", kNobodyPort)) ==
          2);  // s3, s4
    CHECK(value(f, conns, edge("client-7d9f-abc", "outbound", "external", "", "loopback", 20)) == 1);
    CHECK(value(f, conns, edge("client-7d9f-abc", "outbound", "external", "", "loopback", 21)) == 1);
    for (std::uint16_t port = 30; port <= 34; ++port) {
      INFO(port);
      CHECK(value(f, conns, edge("client-7d9f-abc", "outbound", "external", "", "loopback", port)) == 2);
    }
    CHECK(value(f, conns, edge("client-7d9f-abc", "outbound", "external", "", "loopback", 40)) == 1);  // v4-mapped
    CHECK(value(f, conns, edge("client-7d9f-abc", "outbound", "external", "", "loopback", 41)) == 1);  // [::1]
    // The socket's pod, not the pod of the process that used it last.
    CHECK(value(f, conns, edge("client-7d9f-abc", "outbound", "external", "", "loopback", 50)) == 1);
  }

  SECTION("inbound: the first datagram from a peer, on the local port; answers are no flow of their own") {
    CHECK(value(f, conns, edge("server-5c6b-def", "inbound", "pod", "web", "client", ports.b)) == 2);  // s1, s4
    CHECK(value(f, conns, edge("store-0", "inbound", "pod", "web", "client", ports.c)) == 1);          // s2
    // The servers' answers and the client's receipt of them.
    CHECK(series_of(f, conns, {{"pod", "server-5c6b-def"}, {"direction", "outbound"}}) == 0);
    CHECK(series_of(f, conns, {{"pod", "store-0"}, {"direction", "outbound"}}) == 0);
    CHECK(series_of(f, conns, {{"pod", "client-7d9f-abc"}, {"direction", "inbound"}}) == 0);
  }

  SECTION("TCP on the same port number is its own edge, counted as before") {
    CHECK(value(f, conns, edge("client-7d9f-abc", "outbound", "pod", "web", "server", ports.b, "tcp")) == 1);
    CHECK(value(f, conns, edge("server-5c6b-def", "inbound", "pod", "web", "client", ports.b, "tcp")) == 1);
    CHECK(series_of(f, conns, {{"protocol", "tcp"}}) == 2);
    // Outbound to B, C and 11 ports of external addresses; inbound on B and C.
    CHECK(series_of(f, conns, {{"protocol", "udp"}}) == 15);
    CHECK(series_of(f, fails, {{"protocol", "udp"}}) == 15);
    CHECK(total(t.topology(), &kp::TopologyEdge::failures) == 0);
  }

  SECTION("the edge list the agent serves (/debug/topology, the report's block) has them") {
    const auto json = kp::topology_json(t.topology());
    std::size_t udp = 0;
    for (const auto& e : json.as_object().at("edges").as_array()) {
      const auto& o = e.as_object();
      if (o.at("protocol").as_string() == "udp") {
        ++udp;
        CHECK(o.at("failures").to_number<std::uint64_t>() == 0);
      }
    }
    CHECK(udp == 15);
  }

  SECTION("nothing for the pod that made no socket") { CHECK(series_of(f, conns, {{"pod", "idle-1"}}) == 0); }
}

namespace {

// A UDP port on `ip` that nothing listens on: bound once to be given a free one, then closed.
std::uint16_t dead_udp_port(const char* ip) {
  const int fd = udp_socket(ip);
  const std::uint16_t port = local_port(fd);
  ::close(fd);
  return port;
}

// Waits until the ICMP error for what `fd` sent has been reported to it (loopback answers within
// the send, but nothing promises it): poll() says POLLERR then.
void await_error(int fd) {
  pollfd p{fd, 0, 0};
  if (::poll(&p, 1, 2000) != 1 || (p.revents & POLLERR) == 0) {
    ::_exit(50);
  }
}

// Pod A's sockets, all to ports on B's address where nothing listens (B's pod is the peer). A
// failure is an ICMP error the kernel reports on a connected socket, whether or not the process
// then reads it:
//  d1: connect(), then twice: send() a datagram, recv() -> ECONNREFUSED        -> 2 failures
//  d2: connect(), send(), then send() again -> ECONNREFUSED (the error, no datagram) -> 1 failure
//  d3: unconnected, sendto() the same dead port three times: never told      -> no failure
//  d4: connect() to C's live server and exchange one datagram                -> no failure
//  d5: connect() to d2's port, send(), closed with the error unread          -> 1 failure
void run_failing_client(std::uint16_t dead1, std::uint16_t dead2, std::uint16_t live) {
  const int d1 = udp_socket(kAddrA);
  auto to1 = addr_of(kAddrB, dead1);
  if (::connect(d1, reinterpret_cast<sockaddr*>(&to1), sizeof(to1)) != 0) {
    ::_exit(51);
  }
  for (int i = 0; i < 2; ++i) {
    char buf[4];
    if (::send(d1, "q", 1, 0) != 1) {
      ::_exit(52);
    }
    await_error(d1);
    if (::recv(d1, buf, sizeof(buf), MSG_DONTWAIT) != -1 || errno != ECONNREFUSED) {
      ::_exit(53);
    }
  }
  const int d2 = udp_socket(kAddrA);
  auto to2 = addr_of(kAddrB, dead2);
  if (::connect(d2, reinterpret_cast<sockaddr*>(&to2), sizeof(to2)) != 0 || ::send(d2, "q", 1, 0) != 1) {
    ::_exit(54);
  }
  await_error(d2);
  if (::send(d2, "q", 1, 0) != -1 || errno != ECONNREFUSED) {
    ::_exit(55);
  }
  const int d3 = udp_socket(kAddrA);
  for (int i = 0; i < 3; ++i) {
    send_to(d3, kAddrB, dead1);
  }
  const int d4 = udp_socket(kAddrA);
  auto to4 = addr_of(kAddrC, live);
  sockaddr_in from{};
  if (::connect(d4, reinterpret_cast<sockaddr*>(&to4), sizeof(to4)) != 0 || ::send(d4, "q", 1, 0) != 1) {
    ::_exit(56);
  }
  receive_from(d4, from);
  const int d5 = udp_socket(kAddrA);
  if (::connect(d5, reinterpret_cast<sockaddr*>(&to2), sizeof(to2)) != 0 || ::send(d5, "q", 1, 0) != 1) {
    ::_exit(58);
  }
  await_error(d5);
  ::close(d5);
  ::_exit(0);
}

}  // namespace

TEST_CASE("topology: ICMP errors a connected UDP socket reports are failures of its flow", "[bpf][topology]") {
  NODEPACK_REQUIRE_BPF_OR_SKIP();
  nb::KernelFeatureProbe features;
  if (!features.supports("tp_btf:inet_sk_error_report")) {
    // Linux 5.14 added the tracepoint; the collector then warns and counts no UDP failure.
    nodepack::testing::skip_or_fail("kernel without the inet_sk_error_report tracepoint");
    return;
  }
  Pods pods;
  auto reg = started_topology(pods);
  const std::uint16_t dead1 = dead_udp_port(kAddrB);
  std::uint16_t dead2 = dead_udp_port(kAddrB);
  while (dead2 == dead1) {
    dead2 = dead_udp_port(kAddrB);
  }
  int port_pipe[2];
  REQUIRE(::pipe(port_pipe) == 0);
  const int srv = nb::test::spawn_in_cgroup(pods.c, [=] {
    const int fd = udp_socket(kAddrC);
    const std::uint16_t port = local_port(fd);
    if (::write(port_pipe[1], &port, sizeof(port)) != sizeof(port)) {
      ::_exit(57);
    }
    serve(fd, 1, 0);
    ::_exit(0);
  });
  std::uint16_t live = 0;
  REQUIRE(::read(port_pipe[0], &live, sizeof(live)) == sizeof(live));
  const int cli = nb::test::spawn_in_cgroup(pods.a, [=] { run_failing_client(dead1, dead2, live); });
  nb::test::wait_all({cli, srv});
  ::close(port_pipe[0]);
  ::close(port_pipe[1]);

  // Flows: d1 and d3 to dead1 (d3's first datagram; d1's connect), d2 and d5 to dead2, d4 to C;
  // C's inbound one. Failures: d1's two, d2's one, d5's one.
  auto& t = *topology_of(reg);
  wait_for_totals(t, 6, 4);
  const char* conns = "kpod_net_connections_total";
  const char* fails = "kpod_net_connection_failures_total";
  auto f = reg->Collect();
  CHECK(value(f, conns, edge("client-7d9f-abc", "outbound", "pod", "web", "server", dead1)) == 2);
  CHECK(value(f, fails, edge("client-7d9f-abc", "outbound", "pod", "web", "server", dead1)) == 2);
  CHECK(value(f, conns, edge("client-7d9f-abc", "outbound", "pod", "web", "server", dead2)) == 2);
  CHECK(value(f, fails, edge("client-7d9f-abc", "outbound", "pod", "web", "server", dead2)) == 2);
  CHECK(value(f, fails, edge("client-7d9f-abc", "outbound", "pod", "db", "store", live)) == 0);
  // Charged to the client's pod only: the peer pod, which sent the ICMP errors, has no failure.
  CHECK(series_of(f, fails, {{"pod", "server-5c6b-def"}}) == 0);
  CHECK(series_of(f, conns, {{"pod", "idle-1"}}) == 0);
}
