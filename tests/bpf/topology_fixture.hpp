#pragma once

// What the topology kernel tests share: four pod-shaped cgroups (client A, server B, store C and
// one that does nothing), each on its own loopback address (all of 127/8 is on lo), named through
// a fixed peer directory; and readers of the collector's families.
#include "bpf/topology/topology_collector.hpp"
#include "tests/bpf/bpf_registry.hpp"
#include "tests/support/fixed_peers.hpp"
#include "tests/support/fixtures.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <numeric>

namespace nodepack::bpf::test::topology {

namespace nb = nodepack::bpf;
namespace kp = nodepack::kpod;
using nb::test::find_metric;

inline const std::string kUidA = "7a0b0c0d-0000-4000-8000-0000000000a1";
inline const std::string kUidB = "7a0b0c0d-0000-4000-8000-0000000000b2";
inline const std::string kUidC = "7a0b0c0d-0000-4000-8000-0000000000c3";
inline const std::string kUidIdle = "7a0b0c0d-0000-4000-8000-0000000000d4";
inline const char* const kAddrA = "127.0.1.1";
inline const char* const kAddrB = "127.0.1.2";
inline const char* const kAddrC = "127.0.1.3";
inline const char* const kNobody = "127.0.9.9";     // no pod, nothing listening: refused
inline const char* const kClusterIp = "127.0.5.5";  // the Service's ClusterIP, nothing listening: refused

inline sockaddr_in addr_of(const char* ip, std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  ::inet_pton(AF_INET, ip, &a.sin_addr);
  a.sin_port = htons(port);
  return a;
}

inline int listen_on(const char* ip, std::uint16_t& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  auto a = addr_of(ip, 0);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || ::listen(fd, 16) != 0) {
    return -1;
  }
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  port = ntohs(a.sin_port);
  return fd;
}

// Connects from `from` to `to`:`port` and closes; true when the connect succeeded.
inline bool connect_from(const char* from, const char* to, std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  auto local = addr_of(from, 0);
  auto remote = addr_of(to, port);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0) {
    ::_exit(20);
  }
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof(remote)) == 0;
  ::close(fd);
  return ok;
}

struct Pods {
  nb::test::KubepodsTree tree;
  nb::test::FixedPodLookup lookup;
  nodepack::testing::FixedPeers peers;
  std::filesystem::path a, b, c, idle;
  Pods() {
    a = tree.add_container(kUidA, std::string(60, 'a') + "0001");
    b = tree.add_container(kUidB, std::string(60, 'b') + "0002");
    c = tree.add_container(kUidC, std::string(60, 'c') + "0003");
    idle = tree.add_container(kUidIdle, std::string(60, 'd') + "0004");
    lookup.add(kUidA, {"web", "client-7d9f-abc", {}, {}, {}, "client"});
    lookup.add(kUidB, {"web", "server-5c6b-def", {}, {}, {}, "server"});
    lookup.add(kUidC, {"db", "store-0", {}, {}, {}, "store"});
    lookup.add(kUidIdle, {"web", "idle-1", {}, {}, {}, "idle"});
    peers.add_pod(kAddrA, "web", "client", "client-7d9f-abc");
    peers.add_pod(kAddrB, "web", "server", "server-5c6b-def");
    peers.add_pod(kAddrC, "db", "store", "store-0");
    peers.add_service(kClusterIp, "web", "server-svc");
  }
};

inline nb::TopologyCollector* topology_of(const nodepack::testing::TestRegistry& reg) {
  auto* t = dynamic_cast<nb::TopologyCollector*>(reg->find("topology"));
  REQUIRE(t != nullptr);
  return t;
}

inline std::uint64_t total(const kp::TopologySnapshot& s, std::uint64_t kp::TopologyEdge::*field) {
  return std::accumulate(s.edges.begin(), s.edges.end(), std::uint64_t{0},
                         [&](std::uint64_t n, const kp::TopologyEdge& e) { return n + e.*field; });
}

// Passive opens finish on the server's side when the client's ACK lands: waits until the edges
// add up to `connections` and `failures`; when they do not, says what they are.
inline void wait_for_totals(nb::TopologyCollector& t, std::uint64_t connections, std::uint64_t failures) {
  const bool settled = nb::test::wait_for(
      [&] {
        auto s = t.topology();
        return total(s, &kp::TopologyEdge::connections) == connections &&
               total(s, &kp::TopologyEdge::failures) == failures;
      },
      5000);
  if (!settled) {
    for (const auto& e : t.topology().edges) {
      UNSCOPED_INFO(e.pod << " " << e.direction << " " << e.protocol << " " << e.peer_workload << ":" << e.port << " "
                          << e.connections << "/" << e.failures);
    }
  }
  CHECK(settled);
}

inline double value(const std::vector<prometheus::MetricFamily>& families, const char* name,
                    const std::map<std::string, std::string>& labels) {
  auto* m = find_metric(families, name, labels);
  INFO(name);
  REQUIRE(m != nullptr);
  return m->counter.value;
}

inline std::size_t series_of(const std::vector<prometheus::MetricFamily>& families, const char* name,
                             const std::map<std::string, std::string>& labels = {}) {
  std::size_t n = 0;
  for (const auto& f : families) {
    if (f.name != name) {
      continue;
    }
    for (const auto& m : f.metric) {
      bool all = true;
      for (const auto& [k, v] : labels) {
        bool found = false;
        for (const auto& l : m.label) {
          found = found || (l.name == k && l.value == v);
        }
        all = all && found;
      }
      n += all ? 1 : 0;
    }
  }
  return n;
}

inline kp::CollectorOptions options(const Pods& pods, kp::PeerGranularity g, std::size_t max_peers = 1000) {
  kp::CollectorOptions o;
  o.peers = &pods.peers;
  o.peer_granularity = g;
  o.topology_max_peers = max_peers;
  return o;
}

}  // namespace nodepack::bpf::test::topology
