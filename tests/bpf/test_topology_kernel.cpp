// Real topology programs: TCP connections between fake pods, each on its own loopback address
// (all of 127/8 is on lo), named through a fixed peer directory at each granularity; a refused
// connect to an address no pod owns is a failure on an external, bucketed edge.
#include "tests/bpf/topology_fixture.hpp"

#include <boost/json.hpp>

using namespace nodepack::bpf::test::topology;

namespace {

struct Ports {
  std::uint16_t b = 0, c1 = 0, c2 = 0;
};

// B listens on one port, C on two; A connects to B twice, to C's second port once, to an address
// no one owns and to the Service's ClusterIP (both refused); B connects to C's first port once.
void run_workload(Pods& pods, Ports& ports) {
  int port_pipe[2], stop_pipe[2];
  REQUIRE(::pipe(port_pipe) == 0);
  REQUIRE(::pipe(stop_pipe) == 0);
  auto server = [&](const char* ip, int listeners) {
    return [&, ip, listeners] {
      ::close(stop_pipe[1]);
      for (int i = 0; i < listeners; ++i) {
        std::uint16_t port = 0;
        if (listen_on(ip, port) < 0 || ::write(port_pipe[1], &port, sizeof(port)) != sizeof(port)) {
          ::_exit(10);
        }
      }
      char x;
      ::read(stop_pipe[0], &x, 1);  // connections wait in the accept queues: established all the same
      ::_exit(0);
    };
  };
  const int srv_b = nb::test::spawn_in_cgroup(pods.b, server(kAddrB, 1));
  REQUIRE(::read(port_pipe[0], &ports.b, 2) == 2);
  const int srv_c = nb::test::spawn_in_cgroup(pods.c, server(kAddrC, 2));
  REQUIRE(::read(port_pipe[0], &ports.c1, 2) == 2);
  REQUIRE(::read(port_pipe[0], &ports.c2, 2) == 2);
  const Ports p = ports;
  const int cli_a = nb::test::spawn_in_cgroup(pods.a, [p] {
    const bool ok = connect_from(kAddrA, kAddrB, p.b) && connect_from(kAddrA, kAddrB, p.b) &&
                    connect_from(kAddrA, kAddrC, p.c2) && !connect_from(kAddrA, kNobody, p.b) &&
                    !connect_from(kAddrA, kClusterIp, p.b);
    ::_exit(ok ? 0 : 11);
  });
  const int cli_b = nb::test::spawn_in_cgroup(pods.b, [p] { ::_exit(connect_from(kAddrB, kAddrC, p.c1) ? 0 : 12); });
  nb::test::wait_all({cli_a, cli_b});
  ::close(stop_pipe[1]);
  nb::test::wait_all({srv_b, srv_c});
  for (int fd : {port_pipe[0], port_pipe[1], stop_pipe[0]}) {
    ::close(fd);
  }
}

}  // namespace

TEST_CASE("topology: connections between pods, per direction, peer and port, at each granularity", "[bpf][topology]") {
  NODEPACK_REQUIRE_BPF_OR_SKIP();
  Pods pods;
  auto make = [&](kp::PeerGranularity g, std::size_t max_peers = 1000) {
    auto reg = nb::test::registry_for({"topology"}, pods.tree.root(), pods.lookup,
                                      std::make_unique<nb::KernelFeatureProbe>(), {}, options(pods, g, max_peers));
    reg->start();
    REQUIRE(reg->status()["topology"]);
    return reg;
  };
  // Every registry loads its own programs: all four see the same connections.
  auto by_workload = make(kp::PeerGranularity::workload);
  auto by_service = make(kp::PeerGranularity::service);
  auto by_pod = make(kp::PeerGranularity::pod);
  auto capped = make(kp::PeerGranularity::workload, 2);
  Ports ports;
  run_workload(pods, ports);
  // Peers are named when the counts are folded: the Service's endpoint can be known only now.
  pods.peers.add_endpoint(kAddrB, ports.b, "web", "server-svc");
  for (auto* reg : {&by_workload, &by_service, &by_pod, &capped}) {
    wait_for_totals(*topology_of(*reg), 8, 2);
  }
  const auto pb = std::to_string(ports.b), pc1 = std::to_string(ports.c1), pc2 = std::to_string(ports.c2);
  const char* conns = "kpod_net_connections_total";
  const char* fails = "kpod_net_connection_failures_total";

  SECTION("workload: pod peers by workload, external peers bucketed, inbound on the listening port") {
    auto f = by_workload->Collect();
    using L = std::map<std::string, std::string>;
    auto edge = [](std::string pod, std::string dir, std::string kind, std::string ns, std::string wl,
                   std::string port) {
      return L{{"pod", pod},          {"direction", dir}, {"peer_kind", kind}, {"peer_namespace", ns},
               {"peer_workload", wl}, {"port", port},     {"protocol", "tcp"}};
    };
    CHECK(value(f, conns, edge("client-7d9f-abc", "outbound", "pod", "web", "server", pb)) == 2);
    CHECK(value(f, fails, edge("client-7d9f-abc", "outbound", "pod", "web", "server", pb)) == 0);
    CHECK(value(f, conns, edge("client-7d9f-abc", "outbound", "pod", "db", "store", pc2)) == 1);
    CHECK(value(f, conns, edge("client-7d9f-abc", "outbound", "external", "", "loopback", pb)) == 0);
    CHECK(value(f, fails, edge("client-7d9f-abc", "outbound", "external", "", "loopback", pb)) == 1);
    CHECK(value(f, fails, edge("client-7d9f-abc", "outbound", "service", "web", "server-svc", pb)) == 1);
    CHECK(value(f, conns, edge("server-5c6b-def", "outbound", "pod", "db", "store", pc1)) == 1);
    CHECK(value(f, conns, edge("server-5c6b-def", "inbound", "pod", "web", "client", pb)) == 2);
    CHECK(value(f, conns, edge("store-0", "inbound", "pod", "web", "server", pc1)) == 1);
    CHECK(value(f, conns, edge("store-0", "inbound", "pod", "web", "client", pc2)) == 1);
    CHECK(series_of(f, conns) == 8);
    CHECK(series_of(f, fails) == 8);
    CHECK(series_of(f, conns, {{"pod", "idle-1"}}) == 0);
    CHECK(series_of(f, conns, {{"peer_workload", kNobody}}) == 0);  // never the raw address
    CHECK(value(f, conns, {{"pod", "store-0"}, {"namespace", "db"}, {"node", "test-node"}, {"port", pc1}}) == 1);
    // A second scrape reads the same (the kernel's counts are folded once).
    auto again = by_workload->Collect();
    CHECK(value(again, conns, edge("client-7d9f-abc", "outbound", "pod", "web", "server", pb)) == 2);
  }

  SECTION("service: a pod peer a Service lists is named by the Service") {
    auto f = by_service->Collect();
    // The two connections to B and the refused one to the ClusterIP: one edge to server-svc.
    auto to_svc = std::map<std::string, std::string>{{"pod", "client-7d9f-abc"},
                                                     {"direction", "outbound"},
                                                     {"peer_kind", "service"},
                                                     {"peer_workload", "server-svc"},
                                                     {"port", pb}};
    CHECK(value(f, conns, to_svc) == 2);
    CHECK(value(f, fails, to_svc) == 1);
    CHECK(value(f, conns, {{"pod", "store-0"}, {"peer_kind", "service"}, {"peer_workload", "server-svc"}}) == 1);
    CHECK(value(f, conns, {{"pod", "server-5c6b-def"}, {"peer_kind", "pod"}, {"peer_workload", "client"}}) == 2);
    CHECK(value(f, conns, {{"pod", "server-5c6b-def"}, {"peer_kind", "pod"}, {"peer_workload", "store"}}) == 1);
    CHECK(series_of(f, conns) == 7);
  }

  SECTION("pod: pod peers by their pod name") {
    auto f = by_pod->Collect();
    CHECK(value(f, conns, {{"pod", "client-7d9f-abc"}, {"peer_kind", "pod"}, {"peer_workload", "server-5c6b-def"}}) ==
          2);
    CHECK(value(f, conns, {{"pod", "store-0"}, {"direction", "inbound"}, {"peer_workload", "client-7d9f-abc"}}) == 1);
    CHECK(value(f, fails, {{"pod", "client-7d9f-abc"}, {"peer_kind", "service"}, {"peer_workload", "server-svc"}}) ==
          1);
    CHECK(series_of(f, conns) == 8);
  }

  SECTION("beyond the edge cap, new edges fold into their pod's overflow edge") {
    auto s = topology_of(capped)->topology();
    std::size_t named = 0;
    for (const auto& e : s.edges) {
      if (e.peer_kind == "overflow") {
        CHECK(e.port == 0);
        CHECK(e.peer_workload.empty());
      } else {
        ++named;
      }
    }
    CHECK(named == 2);
    CHECK(s.edges.size() > 2);
    CHECK(total(s, &kp::TopologyEdge::connections) == 8);  // nothing lost
    CHECK(total(s, &kp::TopologyEdge::failures) == 2);
    auto f = capped->Collect();
    CHECK(series_of(f, conns, {{"peer_kind", "overflow"}}) == s.edges.size() - 2);
  }

  SECTION("the edge list the agent serves") {
    auto json = kp::topology_json(topology_of(by_workload)->topology());
    const auto& obj = json.as_object();
    CHECK(obj.at("granularity").as_string() == "workload");
    const auto& edges = obj.at("edges").as_array();
    REQUIRE(edges.size() == 8);
    const boost::json::object* found = nullptr;
    for (const auto& e : edges) {
      const auto& o = e.as_object();
      if (o.at("pod").as_string() == "client-7d9f-abc" && o.at("peer_workload").as_string() == "server") {
        found = &o;
      }
    }
    REQUIRE(found != nullptr);
    CHECK(found->size() == 11);
    CHECK(found->at("namespace").as_string() == "web");
    CHECK(found->at("workload").as_string() == "client");
    CHECK(found->at("direction").as_string() == "outbound");
    CHECK(found->at("peer_kind").as_string() == "pod");
    CHECK(found->at("peer_namespace").as_string() == "web");
    CHECK(found->at("port").to_number<std::uint64_t>() == ports.b);
    CHECK(found->at("protocol").as_string() == "tcp");
    CHECK(found->at("connections").to_number<std::uint64_t>() == 2);
    CHECK(found->at("failures").to_number<std::uint64_t>() == 0);
  }
}

TEST_CASE("topology: the raw_tp program counts the same where tp_btf is not available", "[bpf][topology]") {
  NODEPACK_REQUIRE_BPF_OR_SKIP();
  Pods pods;
  auto probe = std::make_unique<nb::FixedFeatureProbe>(
      std::map<std::string, bool, std::less<>>{{"tp_btf:inet_sock_set_state", false}}, true);
  auto reg = nb::test::registry_for({"topology"}, pods.tree.root(), pods.lookup, std::move(probe), {},
                                    options(pods, kp::PeerGranularity::workload));
  reg->start();
  REQUIRE(reg->status()["topology"]);
  Ports ports;
  run_workload(pods, ports);
  wait_for_totals(*topology_of(reg), 8, 2);
  auto f = reg->Collect();
  CHECK(value(f, "kpod_net_connections_total",
              {{"pod", "store-0"},
               {"direction", "inbound"},
               {"peer_workload", "client"},
               {"port", std::to_string(ports.c2)}}) == 1);
  CHECK(value(f, "kpod_net_connection_failures_total",
              {{"pod", "client-7d9f-abc"}, {"peer_kind", "external"}, {"peer_workload", "loopback"}}) == 1);
}
