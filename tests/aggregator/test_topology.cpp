// The aggregator's connection topology: the agents' block read (bounded, a bad block costing only
// itself), edge rates from counter deltas between pulls (a decrease is a restart), one cluster
// graph in which a connection seen by both its client's and its server's agent counts once, and
// the /api/topology document with its namespace filter.

#include "aggregator/report.hpp"
#include "aggregator/topology_graph.hpp"
#include "aggregator/topology_rates.hpp"
#include "tests/aggregator/fake_agent.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

using namespace nodepack;
using namespace nodepack::aggregator;
using testing::TopologyEdgeSpec;
namespace json = boost::json;

namespace {

const auto t0 = std::chrono::system_clock::time_point{} + std::chrono::hours(24 * 20000);

NodeReport report_with(const std::string& node, const std::vector<TopologyEdgeSpec>& edges) {
  testing::ReportSpec spec{node, {{"cpu", "1"}}, {}, 1, 1, t0, {}, 1, edges};
  return parse_report(testing::report_json(spec), node).value();
}

TopologyEdgeSpec client_out(std::string pod, std::uint64_t connections, std::uint64_t failures) {
  return {"web", "client", std::move(pod), "outbound", "pod", "web", "server", 8080, connections, failures};
}

const GraphEdge* find_edge(const TopologyGraph& g, std::string_view source, std::string_view target) {
  for (const auto& e : g.edges) {
    if (e.source == source && e.target == target) {
      return &e;
    }
  }
  return nullptr;
}

}  // namespace

TEST_CASE("a report's topology block is read into names and edges") {
  const auto report = report_with("n1", {client_out("client-a", 12, 1), client_out("client-b", 3, 0)});
  REQUIRE(report.topology);
  CHECK(report.topology_error.empty());
  const auto& t = *report.topology;
  CHECK(t.granularity == "workload");
  REQUIRE(t.edges.size() == 2);
  // web, client, client-a, server, tcp, client-b: each distinct string once.
  CHECK(t.names.size() == 6);
  const auto& e = t.edges[0];
  CHECK(t.name(e.ns) == "web");
  CHECK(t.name(e.workload) == "client");
  CHECK(t.name(e.pod) == "client-a");
  CHECK(t.name(e.peer_ns) == "web");
  CHECK(t.name(e.peer_workload) == "server");
  CHECK(t.name(e.protocol) == "tcp");
  CHECK(e.port == 8080);
  CHECK(e.direction == EdgeDirection::outbound);
  CHECK(e.peer_kind == PeerKind::pod);
  CHECK(e.connections == 12);
  CHECK(e.failures == 1);
  CHECK(t.edges[1].ns == e.ns);  // interned: the same index
}

TEST_CASE("a report without a topology block is an older agent's, used as before") {
  testing::ReportSpec spec{"n1", {{"cpu", "1"}}, {}, 4, 1, t0, {}, 1};
  const auto report = parse_report(testing::report_json(spec), "n1").value();
  CHECK_FALSE(report.topology);
  CHECK(report.topology_error.empty());
  CHECK(report.pod_count == 4);
}

TEST_CASE("a bad topology block is dropped with its reason; the rest of the report is used") {
  testing::ReportSpec spec{"n1", {{"cpu", "1"}}, {}, 4, 1, t0, {}, 1};
  const std::string good_report = testing::report_json(spec);
  const auto with_block = [&](const std::string& block) {
    return good_report.substr(0, good_report.size() - 1) + ",\"topology\":" + block + "}";
  };
  const std::pair<std::string, std::string> cases[] = {
      {"[]", "\"topology\" is not an object"},
      {R"({"granularity":"workload"})", "\"topology.edges\" is missing or not an array"},
      {R"({"edges":[{"namespace":"web"}]})", "\"topology.edges[0]\": \"workload\" is missing or not a string"},
      {R"({"edges":[{"namespace":"a","workload":"b","pod":"c","peer_namespace":"","peer_workload":"x",
        "protocol":"tcp","direction":"sideways","peer_kind":"pod","port":1,"connections":1,"failures":0}]})",
       "\"topology.edges[0]\": unknown direction \"sideways\""},
      {R"({"edges":[{"namespace":"a","workload":"b","pod":"c","peer_namespace":"","peer_workload":"x",
        "protocol":"tcp","direction":"inbound","peer_kind":"node","port":1,"connections":1,"failures":0}]})",
       "\"topology.edges[0]\": unknown peer_kind \"node\""},
      {R"({"edges":[{"namespace":"a","workload":"b","pod":"c","peer_namespace":"","peer_workload":"x",
        "protocol":"tcp","direction":"inbound","peer_kind":"pod","port":70000,"connections":1,"failures":0}]})",
       "\"topology.edges[0]\": \"port\" is missing or not a port number"},
      {R"({"edges":[{"namespace":"a","workload":"b","pod":"c","peer_namespace":"","peer_workload":"x",
        "protocol":"tcp","direction":"inbound","peer_kind":"pod","port":1,"connections":-1,"failures":0}]})",
       "\"topology.edges[0]\": \"connections\" is missing or not a non-negative integer"},
  };
  for (const auto& [block, reason] : cases) {
    INFO(block);
    const auto report = parse_report(with_block(block), "n1");
    REQUIRE(report.has_value());
    CHECK_FALSE(report->topology);
    CHECK(report->topology_error == reason);
    CHECK(report->pod_count == 4);
  }
}

TEST_CASE("a node keeps at most max_topology_edges edges and counts the rest as dropped") {
  std::vector<TopologyEdgeSpec> edges;
  for (int i = 0; i < 300; ++i) {
    edges.push_back(client_out("client-" + std::to_string(i), 1, 0));
  }
  const auto report = report_with("n1", edges);
  REQUIRE(report.topology);
  CHECK(report.topology->edges.size() == max_topology_edges);
  CHECK(report.topology->dropped == 300 - max_topology_edges);
  CHECK(build_topology_graph(
            [&] {
              TopologyRates rates;
              rates.record("n1", report, t0);
              return rates;
            }(),
            t0, std::chrono::minutes(2))
            .dropped_edges == 300 - max_topology_edges);
}

TEST_CASE("edge rates come from counter deltas between pulls; a counter that goes down is a restart") {
  TopologyRates rates;
  rates.record("n1", report_with("n1", {client_out("client-a", 10, 1)}), t0);
  const auto rate_of = [&](std::size_t i) { return rates.samples().at("n1").rates.at(i); };
  CHECK_FALSE(rate_of(0).known);  // one sample: no rate yet
  CHECK(rate_of(0).connections_per_second == 0);

  rates.record("n1", report_with("n1", {client_out("client-a", 30, 3)}), t0 + std::chrono::seconds(10));
  CHECK(rate_of(0).known);
  CHECK(rate_of(0).connections_per_second == 2.0);  // (30 - 10) / 10 s
  CHECK(rate_of(0).failures_per_second == 0.2);     // (3 - 1) / 10 s

  // The agent restarted: its counters start again from zero; 5 connections since.
  rates.record("n1", report_with("n1", {client_out("client-a", 5, 0)}), t0 + std::chrono::seconds(20));
  CHECK(rate_of(0).connections_per_second == 0.5);
  CHECK(rate_of(0).failures_per_second == 0.0);

  // No time passed on our clock: the sample teaches nothing and the last rates stay.
  const auto version = rates.version();
  rates.record("n1", report_with("n1", {client_out("client-a", 500, 0)}), t0 + std::chrono::seconds(20));
  CHECK(rates.version() == version);
  CHECK(rate_of(0).connections_per_second == 0.5);

  // A new pod's edge has no rate on its first sample; the old one's goes on.
  rates.record("n1", report_with("n1", {client_out("client-a", 9, 0), client_out("client-b", 7, 0)}),
               t0 + std::chrono::seconds(24));
  CHECK(rate_of(0).connections_per_second == 1.0);  // (9 - 5) / 4 s
  CHECK_FALSE(rate_of(1).known);

  // An answer of 304 (the report did not change): the counters did not move, rates of zero.
  rates.confirm("n1", t0 + std::chrono::seconds(30));
  CHECK(rate_of(0).known);
  CHECK(rate_of(0).connections_per_second == 0.0);

  // A report without the block (the collector was turned off): the node leaves the graph.
  testing::ReportSpec plain{"n1", {{"cpu", "1"}}, {}, 1, 1, t0, {}, 1};
  rates.record("n1", parse_report(testing::report_json(plain), "n1").value(), t0 + std::chrono::seconds(40));
  CHECK(rates.samples().empty());
}

TEST_CASE("a connection seen by both its client's and its server's agent is counted once") {
  TopologyRates rates;
  // n1 runs the client pods (one of them), n2 the server; n3 runs a client pod too.
  const auto pull = [&](int seconds, std::uint64_t a, std::uint64_t b, std::uint64_t inbound_batch,
                        std::uint64_t external) {
    const auto at = t0 + std::chrono::seconds(seconds);
    rates.record("n1", report_with("n1", {client_out("client-a", a, 1)}), at);
    rates.record(
        "n3",
        report_with("n3", {client_out("client-b", b, 0),
                           {"web", "client", "client-b", "outbound", "service", "web", "server-svc", 80, 4, 0}}),
        at);
    rates.record(
        "n2",
        report_with("n2",
                    {// the same connections, seen by the server
                     {"web", "server", "server-0", "inbound", "pod", "web", "client", 8080, a + b, 1},
                     // a client whose node runs no agent
                     {"web", "server", "server-0", "inbound", "pod", "batch", "importer", 8080, inbound_batch, 2},
                     // a client outside the cluster
                     {"web", "server", "server-0", "inbound", "external", "", "203.0.113.0/24", 8080, external, 0}}),
        at);
  };
  pull(0, 10, 20, 100, 7);
  pull(10, 40, 30, 150, 27);
  const auto graph = build_topology_graph(rates, t0 + std::chrono::seconds(10), std::chrono::minutes(2));
  CHECK(graph.reporting_nodes == 3);
  REQUIRE(graph.edges.size() == 4);

  const auto* clients = find_edge(graph, "web/client", "web/server");
  REQUIRE(clients);
  CHECK(clients->port == 8080);
  CHECK(clients->protocol == "tcp");
  CHECK(clients->connections == 70);              // 40 + 30 from the clients' view, not 140
  CHECK(clients->connections_per_second == 4.0);  // (30 + 10) / 10 s
  CHECK(clients->failures == 1);
  CHECK(clients->failures_per_second == 0.0);

  const auto* batch = find_edge(graph, "batch/importer", "web/server");  // inbound view: no agent saw the client
  REQUIRE(batch);
  CHECK(batch->connections == 150);
  CHECK(batch->connections_per_second == 5.0);
  CHECK(batch->failures == 2);

  const auto* outside = find_edge(graph, "external:203.0.113.0/24", "web/server");
  REQUIRE(outside);
  CHECK(outside->connections == 27);
  CHECK(outside->connections_per_second == 2.0);

  const auto* service = find_edge(graph, "web/client", "service:web/server-svc");
  REQUIRE(service);
  CHECK(service->port == 80);
  CHECK(service->connections == 4);
  CHECK(service->connections_per_second == 0.0);

  std::vector<std::string> ids;
  for (const auto& n : graph.nodes) {
    ids.push_back(n.id + " " + n.kind + " " + n.ns + " " + n.name);
  }
  CHECK(ids == std::vector<std::string>{"batch/importer workload batch importer",
                                        "external:203.0.113.0/24 external  203.0.113.0/24",
                                        "service:web/server-svc service web server-svc",
                                        "web/client workload web client", "web/server workload web server"});

  // Once n1's last sample is older than stale_after, its client pod's connections leave the graph.
  rates.record("n2", report_with("n2", {}), t0 + std::chrono::seconds(200));
  rates.record("n3", report_with("n3", {client_out("client-b", 30, 0)}), t0 + std::chrono::seconds(200));
  const auto later = build_topology_graph(rates, t0 + std::chrono::seconds(200), std::chrono::minutes(2));
  CHECK(later.reporting_nodes == 2);
  REQUIRE(find_edge(later, "web/client", "web/server"));
  CHECK(find_edge(later, "web/client", "web/server")->connections == 30);
}

TEST_CASE("the /api/topology document: namespace filter, the nodes of the kept edges, a bounded edge list") {
  TopologyRates rates;
  rates.record("n1",
               report_with("n1", {client_out("client-a", 10, 0),
                                  {"batch", "importer", "importer-0", "outbound", "pod", "web", "server", 8080, 5, 0},
                                  {"batch", "importer", "importer-0", "outbound", "external", "", "198.51.100.0/24",
                                   443, 3, 1}}),
               t0);
  rates.record("n1",
               report_with("n1", {client_out("client-a", 20, 0),
                                  {"batch", "importer", "importer-0", "outbound", "pod", "web", "server", 8080, 35, 0},
                                  {"batch", "importer", "importer-0", "outbound", "external", "", "198.51.100.0/24",
                                   443, 3, 1}}),
               t0 + std::chrono::seconds(10));
  const auto graph = build_topology_graph(rates, t0 + std::chrono::seconds(10), std::chrono::minutes(2));

  const auto all = topology_json(graph, {});
  CHECK(all.at("edges").as_array().size() == 3);
  CHECK(all.at("nodes").as_array().size() == 4);
  CHECK(all.at("generated_at").as_string() == format_rfc3339(t0 + std::chrono::seconds(10)));
  CHECK(all.at("truncated").as_bool() == false);
  const auto& first = all.at("edges").as_array()[0].as_object();
  CHECK(json::serialize(first) ==
        R"({"source":"batch/importer","target":"external:198.51.100.0/24","port":443,"protocol":"tcp",)"
        R"("connections_per_second":0E0,"failures_per_second":0E0,"connections":3,"failures":1})");

  // Only edges with a web end: client -> server and importer -> server; the external bucket is gone.
  const auto web = topology_json(graph, [](std::string_view ns) { return ns == "web"; });
  CHECK(web.at("edges").as_array().size() == 2);
  std::vector<std::string> node_ids;
  for (const auto& n : web.at("nodes").as_array()) {
    node_ids.emplace_back(n.at("id").as_string());
  }
  CHECK(node_ids == std::vector<std::string>{"batch/importer", "web/client", "web/server"});

  // One edge allowed: the busiest (importer -> server at 3/s) is kept.
  const auto one = topology_json(graph, {}, 1);
  CHECK(one.at("truncated").as_bool());
  REQUIRE(one.at("edges").as_array().size() == 1);
  CHECK(one.at("edges").as_array()[0].at("source").as_string() == "batch/importer");
  CHECK(one.at("edges").as_array()[0].at("connections_per_second").as_double() == 3.0);
  CHECK(one.at("nodes").as_array().size() == 2);
}
