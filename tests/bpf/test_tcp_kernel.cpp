// Real tcp programs: a loopback transfer between two fake pods is charged byte-exact to each
// side's socket, and SYN retransmissions to the pod that sent them.
#include "bpf/tcp/tcp_collector.hpp"
#include "tests/bpf/bpf_registry.hpp"

#include "tests/support/fixtures.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <set>
#include <vector>

namespace nb = nodepack::bpf;
using nb::test::find_metric;

namespace {

const std::string kUidServer = "0f1e2d3c-0000-4000-8000-0000000000a3";
const std::string kUidClient = "0f1e2d3c-0000-4000-8000-0000000000b3";
const std::string kCidServer = std::string(60, 'a') + "0001";
const std::string kCidClient = std::string(60, 'b') + "0002";

int listen_loopback(int backlog, std::uint16_t& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || ::listen(fd, backlog) != 0) {
    return -1;
  }
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  port = ntohs(a.sin_port);
  return fd;
}

int connect_loopback(std::uint16_t port, bool nonblocking) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  int r = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  if (r != 0 && !(nonblocking && errno == EINPROGRESS)) {
    return -1;
  }
  return fd;
}

bool write_all(int fd, const void* p, std::size_t n) {
  auto* c = static_cast<const char*>(p);
  while (n > 0) {
    ssize_t w = ::write(fd, c, n);
    if (w <= 0) {
      return false;
    }
    c += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

struct Pods {
  nb::test::KubepodsTree tree;
  nb::test::FixedPodLookup lookup;
  std::filesystem::path server, client;
  Pods() {
    server = tree.add_container(kUidServer, kCidServer);
    client = tree.add_container(kUidClient, kCidClient);
    lookup.add(kUidServer, {"web", "server", {{kCidServer, "srv"}}});
    lookup.add(kUidClient, {"web", "client", {{kCidClient, "cli"}}});
  }
};

}  // namespace

TEST_CASE("tcp: a loopback transfer is charged byte-exact to sender and receiver pods", "[bpf][tcp]") {
  NODEPACK_REQUIRE_BPF_OR_SKIP();
  Pods pods;
  auto reg = nb::test::registry_for({"tcp"}, pods.tree.root(), pods.lookup, std::make_unique<nb::KernelFeatureProbe>());
  reg->start();
  REQUIRE(reg->status()["tcp"]);
  auto* tcp = dynamic_cast<nb::TcpCollector*>(reg->find("tcp"));
  REQUIRE(tcp != nullptr);
  REQUIRE(tcp->attached_cgroups().size() == 1);
  // With cgroup_skb the ingress program reads the RTT along with the bytes: no tcp_probe
  // program runs on every received segment besides it.
  std::set<std::string> loaded;
  for (const auto& p : tcp->program_stats()) {
    loaded.insert(p.program);
  }
  CHECK(loaded.count("tcp_bytes_ingress") == 1);
  CHECK(loaded.count("tcp_bytes_egress") == 1);
  CHECK(loaded.count("tcp_probe_btf") == 0);
  CHECK(loaded.count("tcp_probe_raw") == 0);
  CHECK(loaded.size() == 4);  // and the retransmit and state tracepoints, in one flavour

  constexpr std::size_t kBytes = 3'000'000 + 17;
  int port_pipe[2];
  REQUIRE(::pipe(port_pipe) == 0);
  int server = nb::test::spawn_in_cgroup(pods.server, [&] {
    std::uint16_t port = 0;
    int l = listen_loopback(16, port);
    if (l < 0 || ::write(port_pipe[1], &port, sizeof(port)) != sizeof(port)) {
      ::_exit(10);
    }
    int c = ::accept(l, nullptr, nullptr);
    std::vector<char> buf(1 << 16);
    std::size_t total = 0;
    for (ssize_t n; (n = ::read(c, buf.data(), buf.size())) > 0;) {
      total += static_cast<std::size_t>(n);
    }
    ::_exit(total == kBytes ? 0 : 11);
  });
  std::uint16_t port = 0;
  REQUIRE(::read(port_pipe[0], &port, sizeof(port)) == sizeof(port));
  int client = nb::test::spawn_in_cgroup(pods.client, [port] {
    int fd = connect_loopback(port, false);
    std::vector<char> data(kBytes, 'x');
    if (fd < 0 || !write_all(fd, data.data(), data.size())) {
      ::_exit(12);
    }
    ::shutdown(fd, SHUT_WR);
    char b;
    ::read(fd, &b, 1);  // wait for the server's close so every ACK has been seen
    ::_exit(0);
  });
  nb::test::wait_all({server, client});
  ::close(port_pipe[0]);
  ::close(port_pipe[1]);

  auto families = reg->Collect();
  auto metric = [&](const char* name, const char* pod) {
    auto* m = find_metric(families, name, {{"namespace", "web"}, {"pod", pod}});
    REQUIRE(m != nullptr);
    return m;
  };
  // Payload on the wire: exactly what was written, plus whatever the sender retransmitted (a
  // busy machine can delay ACKs past the tail-loss-probe timer even on loopback).
  const double retransmits = metric("kpod_net_tcp_retransmits_total", "client")->counter.value;
  const double sent = metric("kpod_net_tcp_bytes_sent_total", "client")->counter.value;
  const double received = metric("kpod_net_tcp_bytes_received_total", "server")->counter.value;
  INFO("sent " << sent << " received " << received << " retransmits " << retransmits);
  CHECK(retransmits <= 16);  // a loaded CI host delays ACKs past the loss-probe timer now and then
  if (retransmits == 0) {
    CHECK(sent == kBytes);
  } else {
    CHECK(sent >= kBytes);
    // One counted retransmit can resend up to two 64 KiB GSO super-packets on loopback (seen:
    // 131 KB over for one retransmit, 351 KB for four on a loaded host).
    CHECK(sent <= kBytes + retransmits * 2 * 65536);
  }
  CHECK(received == sent);  // loopback loses nothing: every byte sent reaches the receiver's hook
  CHECK(metric("kpod_net_tcp_bytes_sent_total", "server")->counter.value == 0);      // ACKs only
  CHECK(metric("kpod_net_tcp_bytes_received_total", "client")->counter.value == 0);  // ACKs only
  CHECK(metric("kpod_net_tcp_connections_total", "server")->counter.value == 1);     // passive open
  CHECK(metric("kpod_net_tcp_connections_total", "client")->counter.value == 1);     // active open
  auto* rtt = metric("kpod_net_tcp_rtt_seconds", "client");
  CHECK(rtt->histogram.sample_count > 0);
  CHECK(rtt->histogram.sample_sum / static_cast<double>(rtt->histogram.sample_count) < 0.1);  // loopback
  const auto* container = find_metric(families, "kpod_net_tcp_bytes_sent_total", {{"container", "cli"}});
  CHECK(container != nullptr);
}

TEST_CASE("tcp: SYN retransmissions are charged to the connecting pod", "[bpf][tcp]") {
  NODEPACK_REQUIRE_BPF_OR_SKIP();
  Pods pods;
  auto reg = nb::test::registry_for({"tcp"}, pods.tree.root(), pods.lookup, std::make_unique<nb::KernelFeatureProbe>());
  reg->start();
  auto* tcp = dynamic_cast<nb::TcpCollector*>(reg->find("tcp"));
  REQUIRE(tcp != nullptr);

  // The server listens with a full accept queue and never accepts: the kernel drops the second
  // client's SYNs and the client retransmits them (first after about one second).
  int port_pipe[2], stop_pipe[2];
  REQUIRE(::pipe(port_pipe) == 0);
  REQUIRE(::pipe(stop_pipe) == 0);
  int server = nb::test::spawn_in_cgroup(pods.server, [&] {
    ::close(stop_pipe[1]);  // so the parent's close is seen as EOF
    std::uint16_t port = 0;
    int l = listen_loopback(0, port);
    if (l < 0 || ::write(port_pipe[1], &port, sizeof(port)) != sizeof(port)) {
      ::_exit(10);
    }
    char b;
    ::read(stop_pipe[0], &b, 1);
    ::_exit(0);
  });
  std::uint16_t port = 0;
  REQUIRE(::read(port_pipe[0], &port, sizeof(port)) == sizeof(port));
  int client = nb::test::spawn_in_cgroup(pods.client, [&] {
    ::close(stop_pipe[1]);
    int first = connect_loopback(port, false);  // fills the accept queue
    int second = connect_loopback(port, true);  // its SYN is dropped
    if (first < 0 || second < 0) {
      ::_exit(12);
    }
    char b;
    ::read(stop_pipe[0], &b, 1);
    ::_exit(0);
  });

  const auto client_cg = nodepack::testing::inode_of(pods.client);
  auto client_retransmits = [&] {
    for (const auto& [id, v] : tcp->read_cgroups()) {
      if (id == client_cg) {
        return static_cast<std::uint64_t>(v.retransmits);
      }
    }
    return std::uint64_t{0};
  };
  const bool seen = nb::test::wait_for([&] { return client_retransmits() >= 1; }, 5000);
  ::close(stop_pipe[1]);
  nb::test::wait_all({server, client});
  ::close(stop_pipe[0]);
  ::close(port_pipe[0]);
  ::close(port_pipe[1]);
  REQUIRE(seen);

  auto families = reg->Collect();
  auto* cli = find_metric(families, "kpod_net_tcp_retransmits_total", {{"pod", "client"}});
  auto* srv = find_metric(families, "kpod_net_tcp_retransmits_total", {{"pod", "server"}});
  REQUIRE(cli != nullptr);
  CHECK(cli->counter.value >= 1);
  CHECK(cli->counter.value <= 5);
  if (srv != nullptr) {
    CHECK(srv->counter.value == 0);  // the listener retransmitted nothing
  }
}
