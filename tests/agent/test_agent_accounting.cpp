// Accounting end to end: the agent against the fake API server, values read from /metrics while
// a pod is added, resized and deleted on an injected clock, and counters carried across an agent
// restart by the state file.

#include "agent/agent.hpp"
#include "sim/fake_api_server.hpp"
#include "tests/agent/accounting_fixtures.hpp"
#include "tests/sim/test_client.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/metrics_text.hpp"
#include "tests/support/temp_dir.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <cmath>
#include <thread>

using namespace nodepack;
using nodepack::sim::Kind;
using nodepack::sim::test::http_get;
using nodepack::testing::container_json;
using nodepack::testing::eventually;
using nodepack::testing::metric;
using nodepack::testing::parse_metrics;
using nodepack::testing::pod_object;
using nodepack::testing::status_json;
namespace json = boost::json;
using std::chrono::seconds;

namespace {

json::object app_pod(const std::string& cpu) {
  return pod_object("web", "uid-web", "Running", {container_json({.name = "app", .cpu = cpu, .memory = "1Gi"})}, {},
                    {status_json("app", "running")});
}

struct AccountingHarness {
  sim::FakeApiServer api{sim::FakeApiOptions{"secret", 1000, std::chrono::milliseconds(60'000), 1, {}}};
  nodepack::testing::TempDir dir;
  ManualClock clock;
  const std::chrono::system_clock::time_point t0 = clock.now();
  std::unique_ptr<agent::Agent> agent;

  AccountingHarness() {
    REQUIRE(api.start().has_value());
    REQUIRE(api.upsert(Kind::node,
                       json::parse(R"({"metadata":{"name":"n1"},"status":{"allocatable":{"cpu":"4"}}})").as_object())
                .has_value());
  }

  void start_agent(std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--node-name=n1",
                                  "--metrics-addr=127.0.0.1:0",
                                  "--collectors.bpf=false",
                                  "--collectors.numa=false",
                                  "--auth.mode=none",  // endpoint auth: test_agent_against_api.cpp
                                  "--host-root=" + (dir.path() / "host").string(),
                                  "--accounting.state-file=" + (dir.path() / "accounting.json").string(),
                                  "--accounting.nvml-library=" + (dir.path() / "none.so").string()};
    args.insert(args.end(), extra.begin(), extra.end());
    auto options = agent::parse_agent_options(args, "");
    REQUIRE(options.has_value());
    kube::ClusterConfig cluster;
    cluster.server = api.url();
    cluster.token = "secret";
    agent::AgentTuning tuning;
    tuning.initial_backoff = std::chrono::milliseconds(10);
    tuning.max_backoff = std::chrono::milliseconds(100);
    tuning.min_watch_timeout = std::chrono::seconds(3600);
    agent = std::make_unique<agent::Agent>(std::move(*options), cluster, clock, tuning);
    REQUIRE(agent->start().has_value());
  }
  void at(int s) { clock.advance(t0 + seconds(s) - clock.now()); }
  std::map<std::string, double> scrape() const {
    return parse_metrics(http_get(agent->endpoint().port(), "/metrics").body);
  }
  std::optional<double> value(const std::string& series) const { return metric(scrape(), series); }
  bool value_is(const std::string& series, double expected) const {
    const auto v = value(series);
    return v && std::abs(*v - expected) < 1e-9;
  }
};

const std::string requested =
    R"(nodepack_container_cpu_requested_core_seconds_total{namespace="team-a",pod="web",container="app",node="n1"})";
const std::string request_gauge =
    R"(nodepack_container_cpu_request_cores{namespace="team-a",pod="web",container="app",node="n1"})";
const std::string memory_requested =
    R"(nodepack_container_memory_requested_byte_seconds_total{namespace="team-a",pod="web",container="app",node="n1"})";

}  // namespace

TEST_CASE("agent /metrics: requested core-seconds through add, resize, restart and delete") {
  AccountingHarness h;
  REQUIRE(h.api.upsert(Kind::pod, app_pod("500m")).has_value());
  h.start_agent();
  REQUIRE(eventually([&] { return h.value_is(request_gauge, 0.5); }));
  CHECK(*h.value(requested) == 0);

  h.at(100);
  CHECK(*h.value(requested) == 50);  // 0.5 × 100

  REQUIRE(h.api.upsert(Kind::pod, app_pod("1500m")).has_value());
  REQUIRE(eventually([&] { return h.value_is(request_gauge, 1.5); }));
  h.at(200);
  CHECK(*h.value(requested) == 200);  // 50 + 1.5 × 100

  // The agent stops (the state is written), stays down for 20 s, and starts again.
  h.agent->stop();
  h.agent.reset();
  h.at(220);
  h.start_agent();
  REQUIRE(eventually([&] { return h.value(R"(nodepack_accounting_restored_containers{node="n1"})") == 1.0; }));
  // 200 stored + 1.5 × 20 s downtime = 230: no reset, no gap.
  CHECK(*h.value(requested) == 230);
  CHECK(*h.value(R"(nodepack_accounting_start_time_seconds{node="n1"})") ==
        std::chrono::duration<double>((h.t0 + seconds(220)).time_since_epoch()).count());

  // The exact figures behind the doubles.
  const auto debug = json::parse(http_get(h.agent->endpoint().port(), "/debug/accounting").body).as_array();
  REQUIRE(debug.size() == 1);
  CHECK(debug[0].at("cpu_requested_core_seconds").as_string() == "230.000000000000000000");
  CHECK(debug[0].at("cpu_request").as_string() == "1500m");
  CHECK(debug[0].at("restored").as_bool());

  h.at(300);
  REQUIRE(h.api.remove(Kind::pod, "team-a", "web"));
  REQUIRE(eventually([&] { return !h.value(request_gauge).has_value(); }));
  h.at(350);
  const auto m = h.scrape();
  // 230 + 1.5 × (300 - 220) = 350 core-seconds, and nothing after the delete.
  CHECK(*metric(m, requested) == 350);
  // 1Gi × 300 s = 322122547200 byte-seconds.
  CHECK(*metric(m, memory_requested) == 322122547200.0);
}

TEST_CASE("agent /metrics: --collectors.accounting=false exports no accounting series") {
  AccountingHarness h;
  REQUIRE(h.api.upsert(Kind::pod, app_pod("500m")).has_value());
  h.start_agent({"--collectors.accounting=false"});
  REQUIRE(eventually([&] { return h.value(R"(kube_binpacking_node_allocated{node="n1",resource="cpu"})") == 0.5; }));
  const auto m = h.scrape();
  CHECK_FALSE(metric(m, requested).has_value());
  CHECK_FALSE(metric(m, R"(nodepack_accounting_start_time_seconds{node="n1"})").has_value());
  CHECK_FALSE(std::filesystem::exists(h.dir.path() / "accounting.json"));
}
