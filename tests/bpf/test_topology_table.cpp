// The topology collector's user-space fold, without a kernel: counts stay monotonic when the
// kernel's LRU evicts an entry, unresolved cgroups wait, external addresses are bucketed.
#include "bpf/topology/edge_table.hpp"
#include "tests/support/fixed_peers.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>

#include <cstring>

namespace nb = nodepack::bpf;
namespace kp = nodepack::kpod;
namespace ip = boost::asio::ip;

namespace {

topology_key key(std::uint64_t cgid, const char* v4, std::uint16_t port) {
  topology_key k{};
  k.cgroup_id = cgid;
  k.family = 2;
  k.protocol = 6;
  k.direction = TOPOLOGY_OUTBOUND;
  k.port = port;
  ::inet_pton(AF_INET, v4, k.addr);
  return k;
}

nodepack::cgroup::PodIdentity pod() {
  nodepack::cgroup::PodIdentity id;
  id.namespace_name = "web";
  id.pod = "client-1";
  id.container = "app";
  id.pod_uid = "uid-1";
  return id;
}

}  // namespace

TEST_CASE("topology table: counts only grow, across evictions and cgroups not resolved yet", "[topology]") {
  nodepack::testing::FixedPeers peers;
  peers.add_pod("10.0.0.7", "web", "server", "server-abc");
  nb::EdgeTable table(&peers, kp::PeerGranularity::workload, 1000);
  bool known = false;
  auto resolve = [&](std::uint64_t) {
    return known ? std::make_shared<const nodepack::cgroup::PodIdentity>(pod()) : nullptr;
  };
  const auto k = key(42, "10.0.0.7", 8080);

  table.fold({{k, {3, 1}}}, resolve);
  CHECK(table.rows().empty());  // the pod is not known yet: its counts wait
  known = true;
  table.fold({{k, {5, 1}}}, resolve);
  REQUIRE(table.rows().size() == 1);
  auto e = table.rows()[0].edge;
  CHECK(e.connections == 5);
  CHECK(e.failures == 1);
  CHECK(e.workload == "client-1");  // no workload known: the pod's name
  CHECK(e.peer_workload == "server");
  CHECK(table.rows()[0].local.container.empty());
  table.fold({{k, {5, 1}}}, resolve);
  CHECK(table.rows()[0].edge.connections == 5);
  table.fold({}, resolve);             // evicted
  table.fold({{k, {2, 0}}}, resolve);  // and counted again from zero
  CHECK(table.rows()[0].edge.connections == 7);
  table.fold({{k, {1, 0}}}, resolve);  // evicted and recreated between two folds
  CHECK(table.rows()[0].edge.connections == 8);
  table.drop_pods([](const std::string&) { return false; });
  CHECK(table.rows().empty());
  CHECK(table.distinct_peers() == 0);
}

TEST_CASE("topology: external addresses are bucketed, never named", "[topology]") {
  CHECK(nb::external_bucket(ip::make_address("203.0.113.77")) == "203.0.113.0/24");
  CHECK(nb::external_bucket(ip::make_address("::ffff:203.0.113.77")) == "203.0.113.0/24");
  CHECK(nb::external_bucket(ip::make_address("2001:db8:1:2::5")) == "2001:db8:1::/48");
  CHECK(nb::external_bucket(ip::make_address("127.0.9.9")) == "loopback");
  CHECK(nb::external_bucket(ip::make_address("::1")) == "loopback");
  CHECK(nb::external_bucket(ip::make_address("169.254.169.254")) == "link-local");
  CHECK(nb::external_bucket(ip::make_address("fe80::1")) == "link-local");
  CHECK(nb::external_bucket(ip::make_address("0.0.0.0")) == "unspecified");
  auto peer = nb::name_peer(nullptr, kp::PeerGranularity::pod, ip::make_address("10.1.2.3"), 443);
  CHECK(peer.kind == "external");
  CHECK(peer.workload == "10.1.2.0/24");
}

TEST_CASE("topology table: UDP and TCP to the same peer and port are two edges", "[topology]") {
  nodepack::testing::FixedPeers peers;
  peers.add_pod("10.0.0.7", "web", "server", "server-abc");
  nb::EdgeTable table(&peers, kp::PeerGranularity::workload, 1000);
  auto resolve = [](std::uint64_t) { return std::make_shared<const nodepack::cgroup::PodIdentity>(pod()); };
  const auto tcp = key(42, "10.0.0.7", 53);
  auto udp = tcp;
  udp.protocol = 17;
  table.fold({{tcp, {1, 0}}, {udp, {4, 0}}}, resolve);
  const auto rows = table.rows();
  REQUIRE(rows.size() == 2);
  std::map<std::string, std::uint64_t> by_protocol;
  for (const auto& r : rows) {
    by_protocol[r.edge.protocol] = r.edge.connections;
    CHECK(r.edge.peer_workload == "server");
    CHECK(r.edge.port == 53);
  }
  CHECK(by_protocol == std::map<std::string, std::uint64_t>{{"tcp", 1}, {"udp", 4}});
  CHECK(table.distinct_peers() == 2);
}
