// The aggregator end to end: the fake API server holds the Nodes (and agent and pending pods),
// small HTTP servers on port 0 play the agents, a ManualClock decides what is stale. Values on
// /metrics, /sync and /api/snapshot are asserted after every kind of change.

#include "aggregator/aggregator.hpp"
#include "sim/fake_api_server.hpp"
#include "tests/aggregator/fake_agent.hpp"
#include "tests/sim/test_client.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/metrics_text.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <zlib.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <thread>

using namespace nodepack;
using nodepack::sim::Kind;
using nodepack::sim::test::http_get;
using nodepack::testing::eventually;
using nodepack::testing::FakeAgent;
using nodepack::testing::metric;
using nodepack::testing::parse_metrics;
using nodepack::testing::ReportSpec;
namespace json = boost::json;

namespace {

json::object node_json(const std::string& name, const json::object& labels, const std::string& cpu,
                       const std::string& memory, const std::string& pods) {
  return json::object{{"metadata", {{"name", name}, {"labels", labels}}},
                      {"status", {{"allocatable", {{"cpu", cpu}, {"memory", memory}, {"pods", pods}}}}}};
}

json::object pending_pod(const std::string& name, const std::string& cpu, const std::string& memory,
                         const std::string& node = "", const std::string& phase = "Pending") {
  json::object spec{{"containers", json::array{{{"name", "app"},
                                                {"resources", {{"requests", {{"cpu", cpu}, {"memory", memory}}}}}}}}};
  if (!node.empty()) {
    spec["nodeName"] = node;
  }
  return json::object{{"metadata", {{"name", name}, {"namespace", "default"}, {"uid", "uid-" + name}}},
                      {"spec", std::move(spec)},
                      {"status", {{"phase", phase}}}};
}

json::object agent_pod(const std::string& node, std::uint16_t port, bool running = true) {
  json::object status{{"phase", running ? "Running" : "Pending"}};
  if (running) {
    status["podIP"] = "127.0.0.1";
  }
  return json::object{
      {"metadata",
       {{"name", "nodepack-agent-" + node},
        {"namespace", "nodepack"},
        {"uid", "agent-" + node},
        {"labels", {{"app.kubernetes.io/name", "nodepack-agent"}}}}},
      {"spec",
       {{"nodeName", node},
        {"containers",
         json::array{{{"name", "agent"}, {"ports", json::array{{{"name", "metrics"}, {"containerPort", port}}}}}}}}},
      {"status", std::move(status)}};
}

// GET with Accept-Encoding: gzip; returns the Content-Encoding and the body inflated.
std::pair<std::string, std::string> get_gzip(std::uint16_t port, const std::string& target) {
  namespace bhttp = boost::beast::http;
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket socket(io);
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), port});
  bhttp::request<bhttp::empty_body> request{bhttp::verb::get, target, 11};
  request.set(bhttp::field::host, "127.0.0.1");
  request.set(bhttp::field::accept_encoding, "gzip");
  bhttp::write(socket, request);
  boost::beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 << 20);
  bhttp::read(socket, buffer, parser);
  const std::string encoding(parser.get()[bhttp::field::content_encoding]);
  const std::string& body = parser.get().body();
  z_stream zs{};
  inflateInit2(&zs, 15 + 16);
  std::string out(64 << 20, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(body.data()));
  zs.avail_in = static_cast<uInt>(body.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = inflate(&zs, Z_FINISH);
  out.resize(rc == Z_STREAM_END ? zs.total_out : 0);
  inflateEnd(&zs);
  return {encoding, out};
}

// n1, n2 in zone a with agents; n3 in zone b with an agent; n4 in zone b without one.
//   n1: cpu 4, 16Gi, 110 pods   report: cpu 2500m, 6Gi, 10 pods, DaemonSet 100m/128Mi/1
//   n2: cpu 8, 32Gi, 110 pods   report: cpu 7, 8Gi, 20 pods, DaemonSet 100m/128Mi/1
//   n3: cpu 3920m, 15Gi, 4 pods report: cpu 1, 2Gi, 3 pods, DaemonSet 100m/128Mi/1
struct Harness {
  sim::FakeApiServer api{sim::FakeApiOptions{"secret", 1000, std::chrono::milliseconds(60'000), 1, {}}};
  ManualClock clock;
  std::map<std::string, std::unique_ptr<FakeAgent>> agents;
  std::map<std::string, ReportSpec> reports;
  std::unique_ptr<aggregator::Aggregator> aggregator;

  Harness() {
    REQUIRE(api.start().has_value());
    REQUIRE(api.upsert(Kind::node, node_json("n1", {{"zone", "a"}, {"type", "m5"}}, "4", "16Gi", "110")));
    REQUIRE(api.upsert(Kind::node, node_json("n2", {{"zone", "a"}, {"type", "c5"}}, "8", "32Gi", "110")));
    REQUIRE(api.upsert(Kind::node, node_json("n3", {{"zone", "b"}}, "3920m", "15Gi", "4")));
    REQUIRE(api.upsert(Kind::node, node_json("n4", {{"zone", "b"}}, "2", "8Gi", "110")));
    const std::map<std::string, std::string> ds{{"cpu", "100m"}, {"memory", "128Mi"}};
    reports["n1"] = ReportSpec{"n1", {{"cpu", "2500m"}, {"memory", "6Gi"}}, ds, 10, 1, clock.now(), {}, 1};
    reports["n2"] = ReportSpec{"n2", {{"cpu", "7"}, {"memory", "8Gi"}}, ds, 20, 1, clock.now(), {}, 1};
    reports["n3"] = ReportSpec{"n3", {{"cpu", "1"}, {"memory", "2Gi"}}, ds, 3, 1, clock.now(), {}, 1};
    for (const auto& [name, spec] : reports) {
      agents[name] = std::make_unique<FakeAgent>();
      agents[name]->serve(spec);
    }
  }

  std::string static_agents() const {
    std::string out = "--agents=";
    for (const auto& [name, agent] : agents) {
      out += (out.back() == '=' ? "" : ",") + name + "=127.0.0.1:" + std::to_string(agent->port());
    }
    return out;
  }

  void start(std::vector<std::string> flags = {}, bool discovery = false) {
    std::vector<std::string> args{"--metrics-addr=127.0.0.1:0",
                                  "--pull-interval=50ms",
                                  "--resources=cpu,memory,pods",
                                  "--label-group=zone",
                                  "--fit-shape=small=cpu:500m,memory:1Gi",
                                  "--fit-shape=big=cpu:2,memory:8Gi"};
    if (!discovery) {
      args.push_back(static_agents());
    }
    // These tests are about the agents' reports; the aggregator's own figures (--node-source auto,
    // the default, or api) have tests of their own below.
    if (std::none_of(flags.begin(), flags.end(), [](const std::string& f) { return f.starts_with("--node-source"); })) {
      args.push_back("--node-source=agents");
    }
    args.insert(args.end(), flags.begin(), flags.end());
    auto options = aggregator::parse_aggregator_options(args);
    REQUIRE(options.has_value());
    kube::ClusterConfig cluster;
    cluster.server = api.url();
    cluster.token = "secret";
    aggregator::AggregatorTuning tuning;
    tuning.initial_backoff = std::chrono::milliseconds(10);
    tuning.max_backoff = std::chrono::milliseconds(100);
    tuning.min_watch_timeout = std::chrono::seconds(3600);
    tuning.snapshot_debounce = std::chrono::milliseconds(10);
    aggregator = std::make_unique<aggregator::Aggregator>(std::move(*options), cluster, clock, tuning);
    REQUIRE(aggregator->start().has_value());
    REQUIRE(eventually([&] { return ready(); }));
  }

  // Serves every agent's report again, built `ahead` from now (before the clock moves there).
  void refresh_reports(std::chrono::nanoseconds ahead = {}) {
    for (auto& [name, spec] : reports) {
      spec.built_at = clock.now() + std::chrono::duration_cast<std::chrono::system_clock::duration>(ahead);
      if (agents.contains(name)) {
        agents[name]->serve(spec);
      }
    }
  }
  // Waits for a pull round that started after this call, so what the agents serve now is in.
  void wait_round() {
    const auto seen = aggregator->rounds_completed();
    REQUIRE(eventually([&] { return aggregator->rounds_completed() >= seen + 2; }));
  }

  std::uint16_t port() const { return aggregator->endpoint().port(); }
  bool ready() const { return http_get(port(), "/readyz").status == 200; }
  std::map<std::string, double> scrape() const { return parse_metrics(http_get(port(), "/metrics").body); }
  std::optional<double> value(const std::string& series) const { return metric(scrape(), series); }
  bool value_is(const std::string& series, double expected) const {
    const auto v = value(series);
    return v && std::abs(*v - expected) < 1e-9;
  }
  json::value sync() const { return http_get(port(), "/sync").json(); }
  std::string names(const std::string& state) const {
    std::string out;
    const auto s = sync();
    for (const auto& n : s.at("nodes").at(state).as_array()) {
      out += (out.empty() ? "" : ",") + std::string(n.as_string());
    }
    return out;
  }
};

const std::string cluster_cpu = R"(kube_binpacking_cluster_allocated{resource="cpu"})";
const std::string cluster_cpu_allocatable = R"(kube_binpacking_cluster_allocatable{resource="cpu"})";
const std::string node_count = "kube_binpacking_cluster_node_count";
std::string state_count(const char* state) {
  return std::string(R"(nodepack_aggregator_nodes{state=")") + state + "\"}";
}
std::string pull_errors(const char* reason) {
  return std::string(R"(nodepack_aggregator_pull_errors_total{reason=")") + reason + "\"}";
}

}  // namespace

TEST_CASE("cluster, group, node, fit and pending values from several agents") {
  Harness h;
  REQUIRE(h.api.upsert(Kind::pod, pending_pod("wait-a", "250m", "256Mi")));
  REQUIRE(h.api.upsert(Kind::pod, pending_pod("wait-b", "1", "1Gi")));
  REQUIRE(h.api.upsert(Kind::pod, pending_pod("bound", "4", "4Gi", "n1", "Pending")));  // scheduled: not demand
  REQUIRE(h.api.upsert(Kind::pod, pending_pod("done", "4", "4Gi", "", "Failed")));
  h.start();
  const auto m = h.scrape();
  const auto at = [&](const std::string& series) {
    INFO(series);
    REQUIRE(metric(m, series).has_value());
    return *metric(m, series);
  };
  // Sums over n1..n3 (n4 has no agent): cpu 2.5 + 7 + 1 = 10.5 of 4 + 8 + 3.92 = 15.92.
  CHECK(at(cluster_cpu) == Approx(10.5).epsilon(0));
  CHECK(at(cluster_cpu_allocatable) == Approx(15.92).epsilon(0));
  CHECK(at(R"(kube_binpacking_cluster_utilization_ratio{resource="cpu"})") == Approx(10.5 / 15.92).epsilon(1e-12));
  // memory 6 + 8 + 2 = 16Gi of 16 + 32 + 15 = 63Gi; pods 33 of 224.
  CHECK(at(R"(kube_binpacking_cluster_allocated{resource="memory"})") == 17179869184.0);
  CHECK(at(R"(kube_binpacking_cluster_allocatable{resource="memory"})") == 67645734912.0);
  CHECK(at(R"(kube_binpacking_cluster_allocated{resource="pods"})") == 33);
  CHECK(at(R"(kube_binpacking_cluster_allocatable{resource="pods"})") == 224);
  CHECK(at(R"(kube_binpacking_cluster_daemonset_overhead{resource="cpu"})") == Approx(0.3).epsilon(0));
  CHECK(at(R"(kube_binpacking_cluster_daemonset_overhead_ratio{resource="memory"})") ==
        Approx(402653184.0 / 67645734912.0).epsilon(1e-12));
  CHECK(at(node_count) == 4);
  // Zone a = n1 + n2: cpu 9.5 of 12; zone b = n3 summed, n4 counted.
  CHECK(at(R"(kube_binpacking_group_allocated{label_group="zone",label_group_value="a",resource="cpu"})") == 9.5);
  CHECK(at(R"(kube_binpacking_group_allocatable{label_group="zone",label_group_value="a",resource="cpu"})") == 12);
  CHECK(at(R"(kube_binpacking_group_utilization_ratio{label_group="zone",label_group_value="b",resource="cpu"})") ==
        Approx(1 / 3.92).epsilon(1e-12));
  CHECK(at(R"(kube_binpacking_group_daemonset_overhead{label_group="zone",label_group_value="b",resource="memory"})") ==
        134217728.0);
  CHECK(
      at(R"(kube_binpacking_group_daemonset_overhead_ratio{label_group="zone",label_group_value="a",resource="cpu"})") ==
      Approx(0.2 / 12).epsilon(1e-12));
  CHECK(at(R"(kube_binpacking_group_node_count{label_group="zone",label_group_value="a"})") == 2);
  CHECK(at(R"(kube_binpacking_group_node_count{label_group="zone",label_group_value="b"})") == 2);
  // Node metrics, same names and labels as the agent's.
  CHECK(at(R"(kube_binpacking_node_allocated{node="n2",resource="cpu"})") == 7);
  CHECK(at(R"(kube_binpacking_node_allocatable{node="n2",resource="memory"})") == 34359738368.0);
  CHECK(at(R"(kube_binpacking_node_utilization_ratio{node="n1",resource="pods"})") ==
        Approx(10.0 / 110).epsilon(1e-12));
  CHECK(at(R"(kube_binpacking_node_daemonset_overhead{node="n3",resource="cpu"})") == Approx(0.1).epsilon(0));
  CHECK(at(R"(kube_binpacking_node_daemonset_overhead_ratio{node="n3",resource="pods"})") == 0.25);
  CHECK_FALSE(metric(m, R"(kube_binpacking_node_allocated{node="n4",resource="cpu"})"));
  // Fit (see test_snapshot.cpp for the per-node working): small 3 + 2 + 1, big 0 + 0 + 1;
  // big strands n1's and n2's free cpu 1.5 + 1 and memory 10Gi + 24Gi.
  CHECK(at(R"(kube_binpacking_cluster_fit_pods{shape="small"})") == 6);
  CHECK(at(R"(kube_binpacking_cluster_fit_pods{shape="big"})") == 1);
  CHECK(at(R"(kube_binpacking_cluster_stranded{shape="big",resource="cpu"})") == 2.5);
  CHECK(at(R"(kube_binpacking_cluster_stranded{shape="big",resource="memory"})") == 36507222016.0);
  CHECK(at(R"(kube_binpacking_group_fit_pods{label_group="zone",label_group_value="a",shape="small"})") == 5);
  CHECK(at(R"(kube_binpacking_group_stranded{label_group="zone",label_group_value="a",shape="big",resource="pods"})") ==
        190);
  // Pending: only the two unscheduled Pending pods: cpu 1.25, memory 256Mi + 1Gi, 2 pods.
  CHECK(at(R"(kube_binpacking_cluster_pending_requested{resource="cpu"})") == 1.25);
  CHECK(at(R"(kube_binpacking_cluster_pending_requested{resource="memory"})") == 1342177280.0);
  CHECK(at(R"(kube_binpacking_cluster_pending_requested{resource="pods"})") == 2);
  CHECK(at("kube_binpacking_cluster_pending_pods") == 2);
  // Freshness and self metrics.
  CHECK(at(state_count("fresh")) == 3);
  CHECK(at(state_count("missing")) == 1);
  CHECK(at(state_count("stale")) == 0);
  CHECK(at(state_count("invalid")) == 0);
  CHECK(at(pull_errors("connect")) == 0);
  CHECK(at("nodepack_aggregator_report_age_seconds_count") >= 3);
  CHECK(at("nodepack_aggregator_report_age_seconds_sum") == 0);  // the ManualClock has not moved
  CHECK(at("nodepack_aggregator_pull_round_duration_seconds_count") >= 1);
  CHECK(at("nodepack_aggregator_agents") == 3);
  CHECK(at("kube_binpacking_cache_age_seconds") == 0);
  CHECK(m.count("process_resident_memory_bytes") == 1);

  const auto sync = h.sync();
  CHECK(sync.at("node_synced").as_bool());
  CHECK(sync.at("pod_synced").as_bool());
  CHECK(sync.at("resync_period").as_string() == "30m0s");
  CHECK(h.names("fresh") == "n1,n2,n3");
  CHECK(h.names("missing") == "n4");
  CHECK(sync.at("problems").at(0).at("reason").as_string() == "no agent found on this node");

  const auto snapshot = http_get(h.port(), "/api/snapshot").json();
  CHECK(snapshot.at("cluster").at("resources").at("cpu").at("allocated").as_double() == 10.5);
  CHECK(snapshot.at("nodes").at(1).at("name").as_string() == "n2");

  SECTION("kept-alive connections: one per agent across rounds") {
    h.wait_round();
    h.wait_round();
    for (const auto& [name, agent] : h.agents) {
      INFO(name);
      CHECK(agent->requests() >= 3);
      CHECK(agent->connections() == 1);
    }
  }
  SECTION("a new report is reflected after the next round") {
    h.reports["n3"].allocated["cpu"] = "2";
    h.agents["n3"]->serve(h.reports["n3"]);
    CHECK(eventually([&] { return h.value_is(cluster_cpu, 11.5); }));
  }
  SECTION("pending pods come and go") {
    REQUIRE(h.api.upsert(Kind::pod, pending_pod("wait-c", "500m", "0")));
    CHECK(eventually([&] { return h.value_is("kube_binpacking_cluster_pending_pods", 3); }));
    CHECK(h.value_is(R"(kube_binpacking_cluster_pending_requested{resource="cpu"})", 1.75));
    // Scheduled: leaves the unscheduled set.
    REQUIRE(h.api.upsert(Kind::pod, pending_pod("wait-a", "250m", "256Mi", "n1")));
    CHECK(eventually([&] { return h.value_is("kube_binpacking_cluster_pending_pods", 2); }));
    CHECK(h.value_is(R"(kube_binpacking_cluster_pending_requested{resource="cpu"})", 1.5));
    h.api.remove(Kind::pod, "default", "wait-b");
    CHECK(eventually([&] { return h.value_is("kube_binpacking_cluster_pending_pods", 1); }));
  }
  SECTION("cache age follows the injected clock") {
    h.clock.advance(std::chrono::seconds(10));
    // The watches last heard from the API server 10 s ago (no events since).
    CHECK(eventually([&] { return h.value_is("kube_binpacking_cache_age_seconds", 10); }));
  }
}

TEST_CASE("an agent that stops answering goes stale after --stale-after, not before") {
  Harness h;
  h.start();
  h.agents["n2"]->stop();
  CHECK(eventually(
      [&] { return h.value("nodepack_aggregator_pull_errors_total{reason=\"connect\"}").value_or(0) >= 2; }));
  // Within the bound the last good report still counts.
  CHECK(h.value_is(cluster_cpu, 10.5));
  CHECK(h.value_is(state_count("fresh"), 3));
  // Three minutes on: n1 and n3 keep reporting, n2's report from t0 is too old.
  h.refresh_reports(std::chrono::minutes(3));
  h.wait_round();
  h.clock.advance(std::chrono::minutes(3));
  CHECK(eventually([&] { return h.value_is(state_count("stale"), 1); }));
  CHECK(h.value_is(state_count("fresh"), 2));
  CHECK(h.value_is(cluster_cpu, 3.5));               // n1 2.5 + n3 1
  CHECK(h.value_is(cluster_cpu_allocatable, 7.92));  // n1 4 + n3 3.92
  CHECK(h.value_is(node_count, 4));
  CHECK(h.value_is(R"(kube_binpacking_group_node_count{label_group="zone",label_group_value="a"})", 2));
  CHECK(h.value_is(R"(kube_binpacking_group_allocated{label_group="zone",label_group_value="a",resource="cpu"})", 2.5));
  CHECK_FALSE(h.value(R"(kube_binpacking_node_allocated{node="n2",resource="cpu"})"));
  CHECK(h.names("stale") == "n2");
  CHECK(h.names("missing") == "n4");
  const auto problems = h.sync().at("problems").as_array();
  REQUIRE(problems.size() == 2);
  CHECK(problems[0].at("node").as_string() == "n2");
  CHECK(std::string(problems[0].at("reason").as_string()).find("180s old") != std::string::npos);
  // The histogram saw n1 and n3 reports pulled while they were 3 minutes ahead of the clock (age 0).
  CHECK(h.value("nodepack_aggregator_report_age_seconds_bucket{le=\"0.05\"}").value_or(0) ==
        h.value("nodepack_aggregator_report_age_seconds_count").value_or(-1));
}

TEST_CASE("an unchanged report is a 304: no parse, the node stays fresh, a change is a full report again") {
  Harness h;
  for (auto& [name, agent] : h.agents) {
    agent->use_etags();
  }
  h.start();
  CHECK(eventually([&] { return h.value("nodepack_aggregator_pulls_unchanged_total").value_or(0) >= 6; }));
  CHECK(h.agents["n1"]->not_modified() >= 2);
  CHECK(h.value_is(cluster_cpu, 10.5));
  // Three minutes on with the same reports: each 304 confirms them, so nothing goes stale.
  h.clock.advance(std::chrono::minutes(3));
  h.wait_round();
  CHECK(eventually([&] { return h.value_is(state_count("fresh"), 3); }));
  CHECK(h.value_is(cluster_cpu, 10.5));
  // n1 changes: its next pull is a whole report, and the sums move.
  h.reports["n1"].allocated["cpu"] = "3";
  h.reports["n1"].built_at = h.clock.now();
  h.agents["n1"]->serve(h.reports["n1"]);
  CHECK(eventually([&] { return h.value_is(cluster_cpu, 11); }));
  CHECK(h.value_is(state_count("fresh"), 3));
  CHECK(h.value_is(pull_errors("http_status"), 0));
}

TEST_CASE("a node removed from the API and a label change move the sums") {
  Harness h;
  h.start();
  SECTION("node removed") {
    h.api.remove(Kind::node, "", "n2");
    CHECK(eventually([&] { return h.value_is(node_count, 3); }));
    CHECK(h.value_is(cluster_cpu, 3.5));
    CHECK(h.value_is(cluster_cpu_allocatable, 7.92));
    CHECK_FALSE(h.value(R"(kube_binpacking_node_allocated{node="n2",resource="cpu"})"));
    CHECK(h.value_is(R"(kube_binpacking_group_node_count{label_group="zone",label_group_value="a"})", 1));
    // Its agent is not pulled any more.
    const auto before = h.agents["n2"]->requests();
    h.wait_round();
    CHECK(h.agents["n2"]->requests() <= before + 1);
    CHECK(h.names("fresh") == "n1,n3");
  }
  SECTION("label change moves n3 from zone b to a new zone c") {
    REQUIRE(h.api.upsert(Kind::node, node_json("n3", {{"zone", "c"}}, "3920m", "15Gi", "4")));
    CHECK(eventually([&] {
      return h.value_is(R"(kube_binpacking_group_node_count{label_group="zone",label_group_value="c"})", 1);
    }));
    CHECK(h.value_is(R"(kube_binpacking_group_node_count{label_group="zone",label_group_value="b"})", 1));
    CHECK(h.value_is(R"(kube_binpacking_group_allocated{label_group="zone",label_group_value="c",resource="cpu"})", 1));
    CHECK(
        h.value_is(R"(kube_binpacking_group_allocatable{label_group="zone",label_group_value="b",resource="cpu"})", 0));
    CHECK(h.value_is(cluster_cpu, 10.5));
  }
  SECTION("allocatable change on the Node wins over the report") {
    REQUIRE(h.api.upsert(Kind::node, node_json("n1", {{"zone", "a"}}, "6", "16Gi", "110")));
    CHECK(eventually([&] { return h.value_is(R"(kube_binpacking_node_allocatable{node="n1",resource="cpu"})", 6); }));
    CHECK(h.value_is(cluster_cpu_allocatable, 17.92));
  }
}

TEST_CASE("bad reports are rejected without affecting the rest") {
  Harness h;
  h.start();
  h.agents["n1"]->serve("{\"node\": \"n1\", \"allocated\": {");  // malformed
  auto wrong_types = boost::json::parse(testing::report_json(h.reports["n2"])).as_object();
  wrong_types["pod_count"] = "twenty";
  h.agents["n2"]->serve(boost::json::serialize(wrong_types));                                        // wrong types
  h.agents["n3"]->serve(std::string(5 * 1024 * 1024, ' ') + testing::report_json(h.reports["n3"]));  // 5 MiB
  CHECK(eventually([&] { return h.value_is(state_count("invalid"), 3); }));
  CHECK(h.value("nodepack_aggregator_pull_errors_total{reason=\"malformed\"}").value_or(0) >= 1);
  CHECK(h.value("nodepack_aggregator_pull_errors_total{reason=\"schema\"}").value_or(0) >= 1);
  CHECK(h.value("nodepack_aggregator_pull_errors_total{reason=\"oversized\"}").value_or(0) >= 1);
  CHECK(h.names("invalid") == "n1,n2,n3");
  const auto problems = h.sync().at("problems").as_array();
  CHECK(std::string(problems[0].at("reason").as_string()).rfind("malformed: ", 0) == 0);
  CHECK(std::string(problems[1].at("reason").as_string()).find("pod_count") != std::string::npos);
  CHECK(std::string(problems[2].at("reason").as_string()).rfind("oversized: ", 0) == 0);
  // The last good reports are still within --stale-after: the sums did not move.
  CHECK(h.value_is(cluster_cpu, 10.5));
  CHECK(h.value_is("nodepack_aggregator_reporting_nodes", 3));

  SECTION("a good report from one agent is taken while the others stay invalid") {
    h.agents["n2"]->serve(h.reports["n2"]);
    CHECK(eventually([&] { return h.value_is(state_count("invalid"), 2); }));
    CHECK(h.value_is(state_count("fresh"), 1));
  }
  SECTION("beyond --stale-after invalid nodes stop counting; the good one keeps counting") {
    h.reports["n2"].built_at = h.clock.now() + std::chrono::minutes(3);
    h.agents["n2"]->serve(h.reports["n2"]);
    h.wait_round();
    h.clock.advance(std::chrono::minutes(3));
    CHECK(eventually([&] { return h.value_is("nodepack_aggregator_reporting_nodes", 1); }));
    CHECK(h.value_is(cluster_cpu, 7));
    CHECK(h.value_is(cluster_cpu_allocatable, 8));
    CHECK(h.value_is(state_count("invalid"), 2));
  }
  SECTION("a report about another node is rejected") {
    auto other = h.reports["n2"];
    h.agents["n1"]->serve(other);
    CHECK(eventually(
        [&] { return h.value("nodepack_aggregator_pull_errors_total{reason=\"wrong_node\"}").value_or(0) >= 1; }));
    // n1 keeps its own last good values, not n2's.
    CHECK(h.value_is(R"(kube_binpacking_node_allocated{node="n1",resource="cpu"})", 2.5));
  }
}

TEST_CASE("agents are discovered from the DaemonSet's pods") {
  Harness h;
  REQUIRE(h.api.upsert(Kind::pod, agent_pod("n1", h.agents["n1"]->port())));
  REQUIRE(h.api.upsert(Kind::pod, agent_pod("n2", h.agents["n2"]->port())));
  REQUIRE(h.api.upsert(Kind::pod, agent_pod("n3", h.agents["n3"]->port(), false)));  // not running yet
  // A pod in another namespace with the same label is not an agent of ours.
  auto stray = agent_pod("n4", h.agents["n1"]->port());
  stray["metadata"].as_object()["namespace"] = "other";
  stray["metadata"].as_object()["uid"] = "stray";
  REQUIRE(h.api.upsert(Kind::pod, stray));
  h.start({}, true);
  CHECK(eventually([&] { return h.value_is(state_count("fresh"), 2); }));
  CHECK(h.value_is(cluster_cpu, 9.5));
  CHECK(h.value_is(state_count("missing"), 2));
  CHECK(h.value_is("nodepack_aggregator_agents", 2));

  REQUIRE(h.api.upsert(Kind::pod, agent_pod("n3", h.agents["n3"]->port())));
  CHECK(eventually([&] { return h.value_is(cluster_cpu, 10.5); }));
  CHECK(h.value_is(state_count("fresh"), 3));

  // An agent pod on n4 serving n3's report: a report about the wrong node.
  auto impostor = agent_pod("n4", h.agents["n3"]->port());
  REQUIRE(h.api.upsert(Kind::pod, impostor));
  CHECK(eventually([&] { return h.value_is(state_count("invalid"), 1); }));
  CHECK(h.names("invalid") == "n4");
  CHECK(h.value_is(cluster_cpu, 10.5));
}

TEST_CASE("readiness waits for the node list and a pull round; scrapes make no API calls") {
  Harness h;
  h.api.set_fail_next(3, 500);
  // This test counts API requests: with auto the resize rule's /version check would be one more.
  h.start({"--resize-semantics=per-container"});  // start() waits for /readyz
  const auto sync = h.sync();
  CHECK(sync.at("ready").as_bool());
  CHECK(sync.at("pull").at("rounds").as_int64() >= 1);
  const auto requests = h.api.total_requests();
  for (int i = 0; i < 5; ++i) {
    h.scrape();
    http_get(h.port(), "/api/snapshot");
    http_get(h.port(), "/sync");
  }
  CHECK(h.api.total_requests() == requests);
  const auto page = http_get(h.port(), "/");
  CHECK(page.status == 200);
  CHECK(page.body.find("api/snapshot") != std::string::npos);
  CHECK(page.body.find("<script src") == std::string::npos);  // no external assets
  CHECK(page.body.find("<link") == std::string::npos);
  CHECK(http_get(h.port(), "/healthz").body == "ok");

  // gzip: the cached snapshot part and the scrape-time part arrive as one valid gzip body.
  const auto [encoding, text] = get_gzip(h.port(), "/metrics");
  CHECK(encoding == "gzip");
  const auto m = parse_metrics(text);
  CHECK(metric(m, cluster_cpu).value_or(0) == 10.5);
  CHECK(metric(m, "kube_binpacking_cache_age_seconds").has_value());
  CHECK(metric(m, "nodepack_aggregator_pulls_total").has_value());
  CHECK(text.find("# HELP kube_binpacking_cluster_allocated ") != std::string::npos);
}

TEST_CASE("--disable-node-metrics drops node series only") {
  Harness h;
  h.start({"--disable-node-metrics"});
  const auto m = h.scrape();
  for (const auto& [series, value] : m) {
    CHECK(series.rfind("kube_binpacking_node_", 0) == std::string::npos);
  }
  CHECK(metric(m, cluster_cpu).value_or(0) == 10.5);
}

namespace {

json::object bound_pod(const std::string& name, const std::string& node, const std::string& cpu,
                       bool daemonset = false) {
  return json::parse(R"({"metadata":{"name":")" + name + R"(","namespace":"default","uid":"uid-)" + name +
                     R"(","ownerReferences":[{"kind":")" + (daemonset ? "DaemonSet" : "ReplicaSet") +
                     R"(","name":"o"}]},"spec":{"nodeName":")" + node +
                     R"(","containers":[{"name":"app","resources":{"requests":{"cpu":")" + cpu +
                     R"(","memory":"1Gi"}}}]},"status":{"phase":"Running"}})")
      .as_object();
}

std::vector<std::string> source_names(const json::value& sync, const char* source) {
  std::vector<std::string> out;
  for (const auto& n : sync.at("nodes_by_source").at(source).as_array()) {
    out.emplace_back(n.as_string());
  }
  return out;
}

}  // namespace

TEST_CASE("--node-source=auto counts a node without an agent from the aggregator's own pod watch") {
  Harness h;
  // n4 has no agent; its pods: 1500m and a DaemonSet pod of 100m. n1's pods are its agent's
  // business (its fresh report says 2500m), so what the watch sees there is not used.
  REQUIRE(h.api.upsert(Kind::pod, bound_pod("w4", "n4", "1500m")));
  REQUIRE(h.api.upsert(Kind::pod, bound_pod("ds4", "n4", "100m", true)));
  REQUIRE(h.api.upsert(Kind::pod, bound_pod("w1", "n1", "300m")));
  h.start({"--node-source=auto", "--resize-semantics=per-container"});
  // 2.5 + 7 + 1 from the agents, 1.6 from the watch for n4.
  REQUIRE(eventually([&] { return h.value_is(cluster_cpu, 12.1); }));
  CHECK(h.value_is(cluster_cpu_allocatable, 17.92));
  CHECK(h.value_is(R"(kube_binpacking_node_allocated{node="n4",resource="cpu"})", 1.6));
  CHECK(h.value_is(R"(kube_binpacking_node_daemonset_overhead{node="n4",resource="cpu"})", 0.1));
  CHECK(h.value_is(R"(kube_binpacking_node_allocated{node="n1",resource="cpu"})", 2.5));
  CHECK(h.value_is(state_count("fresh"), 4));
  CHECK(h.value_is(R"(nodepack_aggregator_nodes_by_source{source="agent"})", 3));
  CHECK(h.value_is(R"(nodepack_aggregator_nodes_by_source{source="api"})", 1));
  const auto sync = h.sync();
  CHECK(sync.at("node_source") == "auto");
  CHECK(source_names(sync, "api") == std::vector<std::string>{"n4"});
  CHECK(source_names(sync, "agent") == std::vector<std::string>{"n1", "n2", "n3"});
  CHECK(sync.at("own_figures").at("usable").as_bool());

  // Per event: a pod added on n4 moves the cluster figure without a pull round.
  REQUIRE(h.api.upsert(Kind::pod, bound_pod("w4b", "n4", "400m")));
  CHECK(eventually([&] { return h.value_is(cluster_cpu, 12.5); }));
  h.api.remove(Kind::pod, "default", "w4");
  CHECK(eventually([&] { return h.value_is(cluster_cpu, 11.0); }));
}

TEST_CASE("--node-source=api needs no agents: KBE's way, per-event totals, no API calls per scrape") {
  Harness h;
  REQUIRE(h.api.upsert(Kind::pod, bound_pod("a", "n1", "250m")));
  REQUIRE(h.api.upsert(Kind::pod, bound_pod("b", "n1", "750m")));
  REQUIRE(h.api.upsert(Kind::pod, bound_pod("ds", "n2", "100m", true)));
  auto done = bound_pod("done", "n3", "2");
  done["status"].as_object()["phase"] = "Succeeded";
  REQUIRE(h.api.upsert(Kind::pod, done));
  h.start({"--node-source=api", "--resize-semantics=per-container"}, /*discovery=*/true);
  REQUIRE(eventually([&] { return h.value_is(cluster_cpu, 1.1); }));
  CHECK(h.value_is(R"(kube_binpacking_node_allocated{node="n1",resource="cpu"})", 1.0));
  CHECK(h.value_is(R"(kube_binpacking_node_allocated{node="n1",resource="pods"})", 2));
  CHECK(h.value_is(R"(kube_binpacking_node_allocated{node="n3",resource="cpu"})", 0));  // Succeeded holds nothing
  CHECK(h.value_is(R"(kube_binpacking_cluster_daemonset_overhead{resource="cpu"})", 0.1));
  CHECK(h.value_is(state_count("fresh"), 4));
  CHECK(h.value_is(R"(nodepack_aggregator_nodes_by_source{source="api"})", 4));
  CHECK(h.value_is("nodepack_aggregator_agents", 0));  // no discovery, no pulls
  CHECK(h.sync().at("node_source") == "api");

  const auto requests = h.api.total_requests();
  for (int i = 0; i < 5; ++i) {
    CHECK(h.value_is(cluster_cpu, 1.1));
    http_get(h.port(), "/sync");
  }
  CHECK(h.api.total_requests() == requests);

  REQUIRE(h.api.upsert(Kind::pod, bound_pod("c", "n4", "2")));
  CHECK(eventually([&] { return h.value_is(cluster_cpu, 3.1); }));
  auto finished = bound_pod("a", "n1", "250m");
  finished["status"].as_object()["phase"] = "Failed";
  REQUIRE(h.api.upsert(Kind::pod, finished));
  CHECK(eventually([&] { return h.value_is(cluster_cpu, 2.85); }));
  CHECK_FALSE(aggregator::parse_aggregator_options({"--node-source=api", "--agents=n1=127.0.0.1:1"}).has_value());
}

TEST_CASE("a bad topology block costs only itself; /api/topology merges the good ones") {
  Harness h;
  h.reports["n1"].topology = std::vector<testing::TopologyEdgeSpec>{
      {"web", "client", "client-0", "outbound", "pod", "web", "server", 8080, 12, 1}};
  h.agents["n1"]->serve(h.reports["n1"]);
  auto bad_block = boost::json::parse(testing::report_json(h.reports["n2"])).as_object();
  bad_block["topology"] = boost::json::object{{"edges", "none"}};
  h.agents["n2"]->serve(boost::json::serialize(bad_block));
  h.start();  // n3's agent sends no block: an older agent
  const auto blocks = [&](const char* result) {
    return h.value(std::string(R"(nodepack_aggregator_topology_blocks_total{result=")") + result + "\"}").value_or(0);
  };
  CHECK(eventually([&] { return blocks("ok") >= 1 && blocks("invalid") >= 1 && blocks("absent") >= 1; }));
  // Every report is still used whole.
  CHECK(h.value_is(state_count("fresh"), 3));
  CHECK(h.value_is(cluster_cpu, 10.5));
  const auto answer = http_get(h.port(), "/api/topology");
  REQUIRE(answer.status == 200);
  const auto graph = answer.json();
  CHECK(graph.at("reporting_nodes").as_int64() == 1);
  REQUIRE(graph.at("edges").as_array().size() == 1);
  const auto& edge = graph.at("edges").as_array()[0];
  CHECK(edge.at("source").as_string() == "web/client");
  CHECK(edge.at("target").as_string() == "web/server");
  CHECK(edge.at("connections").as_int64() == 12);
  CHECK(edge.at("failures").as_int64() == 1);
  CHECK(http_get(h.port(), "/api/topology?namespace=other").json().at("edges").as_array().empty());
}
