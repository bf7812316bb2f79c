// Two aggregators electing a leader through a Lease on the simulated API server, in real time with
// short durations (lease 2 s, renew deadline 1.2 s, retry 0.2 s): one exports the cluster series,
// the other serves everything else; killing the leader hands over within the lease duration; a
// leader cut off from the API server steps down before the other replica starts exporting.

#include "aggregator/aggregator.hpp"
#include "aggregator/leader_election.hpp"
#include "sim/fake_api_server.hpp"
#include "tests/aggregator/tcp_proxy.hpp"
#include "tests/sim/test_client.hpp"
#include "tests/support/metrics_text.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <thread>

using namespace nodepack;
using nodepack::sim::Kind;
using nodepack::sim::test::http_get;
using nodepack::testing::metric;
using nodepack::testing::parse_metrics;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

const std::string cluster_cpu = R"(kube_binpacking_cluster_allocated{resource="cpu"})";

struct Replica {
  std::unique_ptr<aggregator::Aggregator> aggregator;

  Replica(const std::string& server) {
    auto options = aggregator::parse_aggregator_options(
        {"--metrics-addr=127.0.0.1:0", "--node-source=api", "--resize-semantics=per-container", "--pull-interval=100ms",
         "--leader-election", "--leader-election-lease-duration=2s", "--leader-election-renew-deadline=1200ms",
         "--leader-election-retry-period=200ms", "--leader-election-namespace=nodepack",
         "--leader-election-name=nodepack-aggregator"});
    REQUIRE(options.has_value());
    kube::ClusterConfig cluster;
    cluster.server = server;
    cluster.token = "secret";
    aggregator::AggregatorTuning tuning;
    tuning.initial_backoff = 10ms;
    tuning.max_backoff = 100ms;
    tuning.snapshot_debounce = 10ms;
    aggregator =
        std::make_unique<aggregator::Aggregator>(std::move(*options), cluster, SystemClock::instance(), tuning);
    REQUIRE(aggregator->start().has_value());
  }
  std::uint16_t port() const { return aggregator->endpoint().port(); }
  std::map<std::string, double> scrape() const { return parse_metrics(http_get(port(), "/metrics").body); }
  bool exporting() const { return metric(scrape(), cluster_cpu).has_value(); }
  double leader_status() const { return metric(scrape(), "kube_binpacking_leader_status").value_or(-1); }
};

template <class Predicate>
bool eventually(Predicate predicate, std::chrono::milliseconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (predicate()) {
      return true;
    }
    std::this_thread::sleep_for(5ms);  // poll interval, not a wait for time to pass
  }
  return predicate();
}

json::object bound_pod(const std::string& name, const std::string& cpu) {
  return json::parse(R"({"metadata":{"name":")" + name + R"(","namespace":"default","uid":"uid-)" + name +
                     R"("},"spec":{"nodeName":"n1","containers":[{"name":"app","resources":{"requests":{"cpu":")" +
                     cpu + R"("}}}]},"status":{"phase":"Running"}})")
      .as_object();
}

struct Cluster {
  sim::FakeApiServer api{sim::FakeApiOptions{"secret", 1000, 60'000ms, 1, {}}};
  Cluster() {
    REQUIRE(api.start().has_value());
    REQUIRE(api.upsert(Kind::node, json::parse(R"({"metadata":{"name":"n1"},"status":{"allocatable":{"cpu":"4",)"
                                               R"("memory":"16Gi","pods":"110"}}})")
                                       .as_object()));
    REQUIRE(api.upsert(Kind::pod, bound_pod("a", "1500m")));
  }
  std::string holder() const {
    auto lease = api.get(Kind::lease, "nodepack", "nodepack-aggregator");
    return lease ? std::string(lease->at("spec").at("holderIdentity").as_string()) : std::string();
  }
};

}  // namespace

TEST_CASE("leader election: one replica exports, the follower serves the rest; killing the leader hands over") {
  Cluster c;
  auto first = std::make_unique<Replica>(c.api.url());
  REQUIRE(eventually([&] { return first->exporting(); }));
  CHECK(first->leader_status() == 1);
  CHECK(*metric(first->scrape(), cluster_cpu) == Approx(1.5).epsilon(0));
  Replica second(c.api.url());
  REQUIRE(eventually([&] { return http_get(second.port(), "/readyz").status == 200; }));
  // The follower: no cluster series, status 0, but its web page, snapshot API and /sync work.
  CHECK(second.leader_status() == 0);
  CHECK_FALSE(second.exporting());
  CHECK_FALSE(metric(second.scrape(), R"(kube_binpacking_node_allocated{node="n1",resource="cpu"})").has_value());
  CHECK(http_get(second.port(), "/api/snapshot").status == 200);
  CHECK(http_get(second.port(), "/").status == 200);
  const auto sync = http_get(second.port(), "/sync").json();
  CHECK_FALSE(sync.at("leader_election").at("leading").as_bool());
  CHECK(sync.at("leader_election").at("lease") == "nodepack/nodepack-aggregator");
  CHECK(sync.at("leader_election").at("holder").as_string() == c.holder());
  const auto leader_identity = c.holder();
  CHECK(http_get(first->port(), "/sync").json().at("leader_election").at("identity").as_string() == leader_identity);

  // Kill the leader (no graceful release): the follower exports within the lease duration (2 s),
  // give or take one retry period and the snapshot debounce.
  first.reset();
  const auto killed = std::chrono::steady_clock::now();
  REQUIRE(eventually([&] { return second.exporting(); }, 5s));
  const auto took = std::chrono::steady_clock::now() - killed;
  CHECK(took <= 2s + 600ms);
  CHECK(second.leader_status() == 1);
  CHECK(c.holder() != leader_identity);
  const auto lease = c.api.get(Kind::lease, "nodepack", "nodepack-aggregator");
  REQUIRE(lease.has_value());
  CHECK(lease->at("spec").at("leaseTransitions").as_int64() == 1);
  CHECK(lease->at("spec").at("leaseDurationSeconds").as_int64() == 2);
}

TEST_CASE("leader election: a leader cut off from the API server stops exporting before the other starts") {
  Cluster c;
  testing::TcpProxy proxy(c.api.port());
  Replica cut_off("http://127.0.0.1:" + std::to_string(proxy.port()));
  REQUIRE(eventually([&] { return cut_off.exporting(); }));
  Replica other(c.api.url());
  REQUIRE(eventually([&] { return http_get(other.port(), "/readyz").status == 200; }));
  REQUIRE(other.leader_status() == 0);

  proxy.cut();
  const auto cut_at = std::chrono::steady_clock::now();
  std::optional<std::chrono::steady_clock::time_point> stopped;
  std::optional<std::chrono::steady_clock::time_point> started;
  while (std::chrono::steady_clock::now() - cut_at < 6s && !(stopped && started)) {
    if (!stopped && cut_off.leader_status() == 0) {
      stopped = std::chrono::steady_clock::now();
      CHECK_FALSE(cut_off.exporting());
    }
    if (!started && other.exporting()) {
      started = std::chrono::steady_clock::now();
      // Never both at once: when the other exports, the cut-off one has already stopped.
      CHECK(stopped.has_value());
      CHECK(cut_off.leader_status() == 0);
    }
    std::this_thread::sleep_for(5ms);
  }
  REQUIRE(stopped.has_value());
  REQUIRE(started.has_value());
  CHECK(*stopped < *started);
  CHECK(*stopped - cut_at <= 1200ms + 300ms);  // within the renew deadline (plus one check)
  CHECK(*started - cut_at >= 1200ms);          // the Lease was honoured for its duration
  CHECK(*started - cut_at <= 2s + 800ms);
}

TEST_CASE("leader election: flags and MicroTime") {
  CHECK_FALSE(aggregator::parse_aggregator_options(
                  {"--leader-election-lease-duration=5s", "--leader-election-renew-deadline=5s"})
                  .has_value());
  CHECK_FALSE(
      aggregator::parse_aggregator_options({"--leader-election-renew-deadline=2s", "--leader-election-retry-period=2s"})
          .has_value());
  auto o = aggregator::parse_aggregator_options({"--leader-election"});
  REQUIRE(o.has_value());
  CHECK(o->leader_election);
  CHECK(o->leader_election_lease_duration == 15s);
  CHECK(o->leader_election_renew_deadline == 10s);
  CHECK(o->leader_election_retry_period == 2s);
  CHECK(o->leader_election_name == "nodepack-aggregator");
  const auto t = std::chrono::system_clock::time_point{} + std::chrono::seconds(1'700'000'000) + 123456us;
  CHECK(aggregator::format_micro_time(t) == "2023-11-14T22:13:20.123456Z");
}
