// Every aggregation mode, the defaults and the accounting endpoint against a real Prometheus
// loaded with usage_fixture.py's data (3 namespaces, 6 pods, 7 containers, 3 nodes; a sample a
// minute from 2026-01-01T00:00:00Z to 02:00:00Z). Hidden ([.prometheus]): billing_prometheus_test.sh
// starts Prometheus and runs these with NODEPACK_TEST_PROMETHEUS_URL set.
//
// The range asked for is 00:30 to 01:30 unless said otherwise, and the clock reads 01:30 so the
// defaults (the last hour) land on it too. The fixture, per container (cores, GiB, bytes):
//
//   container            node  cpu used  cpu requested     memory used  requested  usage gauge        GPUs
//   default/a1/app       n1    0.25      0.5               1            2          100
//   default/a1/sidecar   n1    0.05      0.1               0.5          0.5        10
//   default/a2/app       n1    0.5       0.25              3            2          1000, 3000 from 01:00
//   beta/b1/app          n1    1         1                 1            1          500
//   beta/b2/app          n1    0.2       0.5               0.25         1          700
//   gamma/g1/app         n2    2         1, 3 from 01:00   4            4          5000               2
//
// beta/b3/app on n3 came and went: it ran 00:39:30 to 01:10:30, scraped 00:40 to 01:10, counters from
// zero: cpu used 1, requested 0.5; memory used 1 GiB, requested 2 GiB. Over 00:30-01:30 Prometheus'
// increase() of its 31 samples (1800 s apart, first value 30 s of use) extrapolates back to zero
// (30 s) and half a scrape interval (30 s) past the last sample: 1860 s, which is its real life.
// VictoriaMetrics' increase() does not extrapolate: it counts the first sample's value (the series
// is new, so it started from zero) and stops at the last sample: 1830 s. Every b3 figure below
// scales with that life; everything else is the same on both stores.
// network rx (bytes/s): default/a1 eth0 10; beta/b1 eth0 100 + eth1 50. Node allocatable cpu: n1 8,
// n2 4 (n3 has none, so it has no utilization).

#include "billing_harness.hpp"

#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>

using namespace nodepack;
using namespace nodepack::billing;
using namespace nodepack::billing::test;
namespace json = boost::json;

namespace {

constexpr std::int64_t t0 = 1767225600;
const std::chrono::system_clock::time_point now(std::chrono::seconds(t0 + 5400));
const char* range = R"("timeBeginInterval": "2026-01-01 00:30:00", "timeEndInterval": "2026-01-01T01:30:00Z")";

std::string prometheus_url() {
  const char* url = std::getenv("NODEPACK_TEST_PROMETHEUS_URL");
  REQUIRE(url != nullptr);  // run by billing_prometheus_test.sh
  return url;
}

// Seconds of beta/b3's life as the store's increase() sees them (see the top of this file).
double b3_life() {
  const char* store = std::getenv("NODEPACK_TEST_PROMETHEUS_STORE");
  return store != nullptr && std::string(store) == "victoriametrics" ? 1830 : 1860;
}

// As the CSV prints a number.
std::string fixed6(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6f", v);
  return text;
}

json::object ok(const HttpReply& r) {
  INFO(r.body);
  REQUIRE(r.status == 200);
  return r.json().as_object();
}

std::string body(const std::string& fields) { return "{" + fields + (fields.empty() ? "" : ", ") + range + "}"; }

double number(const json::value& v) {
  REQUIRE(v.is_number());
  return v.to_number<double>();
}

// The totals as "key/key=value" strings compared with Approx one by one.
void check_totals(const json::object& reply, const std::vector<std::pair<std::vector<std::string>, double>>& want,
                  const std::vector<std::string>& keys) {
  const auto& totals = reply.at("totals").as_array();
  REQUIRE(totals.size() == want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    for (std::size_t k = 0; k < keys.size(); ++k) {
      CHECK(totals[i].at(keys[k]).as_string() == want[i].first[k]);
    }
    CHECK(number(totals[i].at("value")) == Approx(want[i].second).epsilon(1e-12));
  }
}

// Every point of a series has `value`; `count` points from `start`, `step` apart.
void check_series(const json::value& series, std::vector<std::string> keys, std::int64_t start, std::int64_t step,
                  std::size_t count, double value) {
  const std::vector<std::string> names{"namespace", "pod", "container"};
  for (std::size_t k = 0; k < keys.size(); ++k) {
    CHECK(series.at(keys.size() == 1 ? "node" : names[k]).as_string() == keys[k]);
  }
  const auto& points = series.at("points").as_array();
  REQUIRE(points.size() == count);
  for (std::size_t i = 0; i < count; ++i) {
    CHECK(points[i].as_array()[0] == start + static_cast<std::int64_t>(i) * step);
    CHECK(number(points[i].as_array()[1]) == Approx(value).epsilon(1e-12));
  }
}

}  // namespace

TEST_CASE("prometheus: no aggregation, with every default (namespace default, limit 100, the last hour)",
          "[.prometheus]") {
  ManualClock clock(now);
  ApiServer api(prometheus_url(), clock);
  const auto reply = ok(post(api.port(), "/api/cpu/usage_rate", ""));
  CHECK(reply.at("namespace") == "default");
  CHECK(reply.at("agg") == "none");
  CHECK(reply.at("timeBeginInterval") == "2026-01-01T00:30:00Z");
  CHECK(reply.at("timeEndInterval") == "2026-01-01T01:30:00Z");
  CHECK(reply.at("limit") == 100);
  CHECK(reply.at("step") == 36);  // 3600 s / 100 points
  const auto& series = reply.at("series").as_array();
  REQUIRE(series.size() == 3);
  // rate() over 5 minutes of a straight counter is its slope, in millicores.
  check_series(series[0], {"default", "a1", "app"}, t0 + 1800, 36, 100, 250);
  check_series(series[1], {"default", "a1", "sidecar"}, t0 + 1800, 36, 100, 50);
  check_series(series[2], {"default", "a2", "app"}, t0 + 1800, 36, 100, 500);
}

TEST_CASE("prometheus: no aggregation, limit sets the step; gauges, counters and pod metrics", "[.prometheus]") {
  ManualClock clock(now);
  ApiServer api(prometheus_url(), clock);
  auto usage = ok(post(api.port(), "/api/memory/usage", body(R"("namespace": "default", "limit": 4)")));
  CHECK(usage.at("step") == 900);
  CHECK(usage.at("unit") == "bytes");
  const auto& a2 = usage.at("series").as_array()[2];
  CHECK(a2.at("pod") == "a2");
  const auto& points = a2.at("points").as_array();
  REQUIRE(points.size() == 4);  // 00:30, 00:45 before the change; 01:00, 01:15 after
  CHECK(number(points[0].as_array()[1]) == 1000);
  CHECK(number(points[1].as_array()[1]) == 1000);
  CHECK(number(points[2].as_array()[1]) == 3000);
  CHECK(number(points[3].as_array()[1]) == 3000);

  // Cumulative: the counter itself (1000 at 00:00 plus 2 cores for 30 and 75 minutes).
  auto cumulative = ok(post(api.port(), "/api/cpu/usage", body(R"("namespace": "gamma", "limit": 2)")));
  CHECK(cumulative.at("step") == 1800);
  const auto& g1 = cumulative.at("series").as_array()[0].at("points").as_array();
  REQUIRE(g1.size() == 2);
  CHECK(number(g1[0].as_array()[1]) == 1000 + 2 * 1800);
  CHECK(number(g1[1].as_array()[1]) == 1000 + 2 * 3600);

  // Network is per pod, summed over interfaces.
  auto rx = ok(post(api.port(), "/api/network/rx_rate", body(R"("namespace": "beta", "limit": 6)")));
  const auto& rx_series = rx.at("series").as_array();
  REQUIRE(rx_series.size() == 1);
  CHECK_FALSE(rx_series[0].as_object().contains("container"));
  check_series(rx_series[0], {"beta", "b1"}, t0 + 1800, 600, 6, 150);

  // Node metrics are per node: n1 uses 2 of 8 cores, n2 2 of 4.
  auto nodes = ok(post(api.port(), "/api/cpu/node_utilization", body(R"("limit": 3)")));
  CHECK(nodes.at("namespace").is_null());
  const auto& node_series = nodes.at("series").as_array();
  REQUIRE(node_series.size() == 2);
  check_series(node_series[0], {"n1"}, t0 + 1800, 1200, 3, 0.25);
  check_series(node_series[1], {"n2"}, t0 + 1800, 1200, 3, 0.5);

  // A namespace without data: no series, not an error.
  CHECK(ok(post(api.port(), "/api/cpu/usage_rate", body(R"("namespace": "empty")"))).at("series").as_array().empty());
}

TEST_CASE("prometheus: pod-by-namespace", "[.prometheus]") {
  ManualClock clock(now);
  ApiServer api(prometheus_url(), clock);
  // limit is ignored; the mean rate over the hour, containers of a pod summed.
  auto rate = ok(post(api.port(), "/api/cpu/usage_rate", body(R"("agg": "pod-by-namespace", "limit": 1)")));
  CHECK(rate.at("namespace") == "default");
  CHECK(rate.at("aggregate") == "mean_rate");
  check_totals(rate, {{{"default", "a1"}, 300}, {{"default", "a2"}, 500}}, {"namespace", "pod"});
  // A gauge's time average: a2 was 1000 for half the hour and 3000 for the other half.
  auto usage = ok(post(api.port(), "/api/memory/usage", body(R"("agg": "pod-by-namespace")")));
  CHECK(usage.at("aggregate") == "time_average");
  check_totals(usage, {{{"default", "a1"}, 110}, {{"default", "a2"}, 2000}}, {"namespace", "pod"});
  auto beta = ok(post(api.port(), "/api/cpu/usage", body(R"("agg": "pod-by-namespace", "namespace": "beta")")));
  CHECK(beta.at("aggregate") == "increase");
  check_totals(beta, {{{"beta", "b1"}, 3600}, {{"beta", "b2"}, 720}, {{"beta", "b3"}, b3_life()}},
               {"namespace", "pod"});
}

TEST_CASE("prometheus: all-namespace", "[.prometheus]") {
  ManualClock clock(now);
  ApiServer api(prometheus_url(), clock);
  // namespace and limit are ignored.
  auto rate =
      ok(post(api.port(), "/api/cpu/usage_rate", body(R"("agg": "all-namespace", "namespace": "beta", "limit": 1)")));
  CHECK(rate.at("namespace").is_null());
  check_totals(rate, {{{"beta"}, (3600 + 720 + b3_life()) / 3.6}, {{"default"}, 800}, {{"gamma"}, 2000}},
               {"namespace"});
  auto usage = ok(post(api.port(), "/api/memory/usage", body(R"("agg": "all-namespace")")));
  check_totals(usage, {{{"beta"}, 1200}, {{"default"}, 2110}, {{"gamma"}, 5000}}, {"namespace"});
  auto rx = ok(post(api.port(), "/api/network/rx", body(R"("agg": "all-namespace")")));
  check_totals(rx, {{{"beta"}, 150 * 3600}, {{"default"}, 10 * 3600}}, {"namespace"});
  // Node metrics stay per node: the time average of the utilization.
  auto nodes = ok(post(api.port(), "/api/cpu/node_utilization", body(R"("agg": "all-namespace")")));
  check_totals(nodes, {{{"n1"}, 0.25}, {{"n2"}, 0.5}}, {"node"});
  // A user restricted to beta and gamma sees only those.
  auto restricted = ok(post(api.port(), "/api/cpu/usage_rate", body(R"("agg": "all-namespace")"), "bob"));
  check_totals(restricted, {{{"beta"}, (3600 + 720 + b3_life()) / 3.6}, {{"gamma"}, 2000}}, {"namespace"});
}

TEST_CASE("prometheus: all-pod", "[.prometheus]") {
  ManualClock clock(now);
  ApiServer api(prometheus_url(), clock);
  auto usage = ok(post(api.port(), "/api/cpu/usage", body(R"("agg": "all-pod", "namespace": "beta")")));
  CHECK(usage.at("namespace").is_null());
  check_totals(usage,
               {{{"beta", "b1"}, 3600},
                {{"beta", "b2"}, 720},
                {{"beta", "b3"}, b3_life()},
                {{"default", "a1"}, 1080},
                {{"default", "a2"}, 1800},
                {{"gamma", "g1"}, 7200}},
               {"namespace", "pod"});
  auto rate = ok(post(api.port(), "/api/cpu/usage_rate", body(R"("agg": "all-pod")"), "alice"));
  check_totals(rate, {{{"beta", "b1"}, 1000}, {{"beta", "b2"}, 200}, {{"beta", "b3"}, b3_life() / 3.6}},
               {"namespace", "pod"});
}

TEST_CASE("prometheus: accounting by namespace, JSON", "[.prometheus]") {
  ManualClock clock(now);
  ApiServer api(prometheus_url(), clock);
  const auto reply = ok(get(api.port(), "/api/v1/accounting?from=2026-01-01%2000:30:00&to=2026-01-01T01:30:00Z"));
  CHECK(reply.at("from") == "2026-01-01T00:30:00Z");
  CHECK(reply.at("to") == "2026-01-01T01:30:00Z");
  CHECK(reply.at("by") == "namespace");
  CHECK(reply.at("step") == 300);
  const auto& rows = reply.at("rows").as_array();
  REQUIRE(rows.size() == 3);
  // Billable per container and 5-minute step is max(used, requested): default 0.5 + 0.1 + 0.5;
  // gamma 2 for the first half hour (requested 1) and 3 for the second (requested 3 from 01:00).
  // beta/b3 (came and went): requested 930 s + 6 steps of 150 s beyond it = 1830 s, less than the
  // 1860 s it used, so 1860 s; memory: requested 3720 GiB s, used 1860 (on Prometheus).
  const double b3 = b3_life() / 3600;
  struct Want {
    const char* ns;
    double cpu_used, cpu_requested, cpu_billable, memory_used, memory_requested, memory_billable, gpu;
  };
  const Want want[] = {{"beta", 1.2 + b3, 1.5 + b3 / 2, 1.5 + b3, 1.25 + b3, 2 + 2 * b3, 2 + 2 * b3, 0},
                       {"default", 0.8, 0.85, 1.1, 4.5, 4.5, 5.5, 0},
                       {"gamma", 2, 2, 2.5, 4, 4, 4, 2}};
  for (std::size_t i = 0; i < 3; ++i) {
    INFO(want[i].ns);
    const auto& row = rows[i].as_object();
    CHECK(row.at("namespace") == want[i].ns);
    CHECK_FALSE(row.contains("pod"));
    CHECK(number(row.at("cpu_core_hours_used")) == Approx(want[i].cpu_used).epsilon(1e-12));
    CHECK(number(row.at("cpu_core_hours_requested")) == Approx(want[i].cpu_requested).epsilon(1e-12));
    CHECK(number(row.at("cpu_core_hours_billable")) == Approx(want[i].cpu_billable).epsilon(1e-12));
    CHECK(number(row.at("memory_gib_hours_used")) == Approx(want[i].memory_used).epsilon(1e-12));
    CHECK(number(row.at("memory_gib_hours_requested")) == Approx(want[i].memory_requested).epsilon(1e-12));
    CHECK(number(row.at("memory_gib_hours_billable")) == Approx(want[i].memory_billable).epsilon(1e-12));
    CHECK(number(row.at("gpu_hours")) == Approx(want[i].gpu).epsilon(1e-12));
  }
}

TEST_CASE("prometheus: accounting by pod, CSV, one namespace and restricted users", "[.prometheus]") {
  ManualClock clock(now);
  ApiServer api(prometheus_url(), clock);
  const double b3 = b3_life() / 3600;
  const auto csv =
      get(api.port(), "/api/v1/accounting?from=2026-01-01T00:30:00Z&to=2026-01-01T01:30:00Z&by=pod&format=csv");
  REQUIRE(csv.status == 200);
  CHECK(csv.header("Content-Type") == "text/csv; charset=utf-8");
  CHECK(csv.header("Content-Disposition") ==
        "attachment; filename=\"nodepack-accounting-2026-01-01T00-30-00Z-2026-01-01T01-30-00Z.csv\"");
  CHECK(csv.body ==
        "namespace,pod,cpu_core_hours_used,cpu_core_hours_requested,cpu_core_hours_billable,memory_gib_hours_used,"
        "memory_gib_hours_requested,memory_gib_hours_billable,gpu_hours\n"
        "beta,b1,1.000000,1.000000,1.000000,1.000000,1.000000,1.000000,0.000000\n"
        "beta,b2,0.200000,0.500000,0.500000,0.250000,1.000000,1.000000,0.000000\n"
        "beta,b3," +
            fixed6(b3) + "," + fixed6(b3 / 2) + "," + fixed6(b3) + "," + fixed6(b3) + "," + fixed6(2 * b3) + "," +
            fixed6(2 * b3) +
            ",0.000000\n"
            "default,a1,0.300000,0.600000,0.600000,1.500000,2.500000,2.500000,0.000000\n"
            "default,a2,0.500000,0.250000,0.500000,3.000000,2.000000,3.000000,0.000000\n"
            "gamma,g1,2.000000,2.000000,2.500000,4.000000,4.000000,4.000000,2.000000\n");

  const auto gamma = ok(
      get(api.port(), "/api/v1/accounting?from=2026-01-01T00:30:00Z&to=2026-01-01T01:30:00Z&by=pod&namespace=gamma"));
  REQUIRE(gamma.at("rows").as_array().size() == 1);
  CHECK(gamma.at("rows").as_array()[0].at("pod") == "g1");

  const auto alice =
      get(api.port(), "/api/v1/accounting?from=2026-01-01T00:30:00Z&to=2026-01-01T01:30:00Z&format=csv", "alice");
  REQUIRE(alice.status == 200);
  CHECK(alice.body ==
        "namespace,cpu_core_hours_used,cpu_core_hours_requested,cpu_core_hours_billable,memory_gib_hours_used,"
        "memory_gib_hours_requested,memory_gib_hours_billable,gpu_hours\n"
        "beta," +
            fixed6(1.2 + b3) + "," + fixed6(1.5 + b3 / 2) + "," + fixed6(1.5 + b3) + "," + fixed6(1.25 + b3) + "," +
            fixed6(2 + 2 * b3) + "," + fixed6(2 + 2 * b3) + ",0.000000\n");
}

TEST_CASE("prometheus: bad requests never reach Prometheus' data", "[.prometheus]") {
  ManualClock clock(now);
  ApiServer api(prometheus_url(), clock);
  CHECK(post(api.port(), "/api/cpu/usage_rate",
             R"({"timeBeginInterval": "2026-01-01T02:00:00Z", "timeEndInterval": "2026-01-01T01:00:00Z"})")
            .status == 400);
  CHECK(post(api.port(), "/api/cpu/usage_rate", "{nope").status == 400);
  CHECK(post(api.port(), "/api/cpu/nothing", "{}").status == 404);
  CHECK(get(api.port(), "/api/cpu/usage_rate").status == 405);
  CHECK(post(api.port(), "/api/filesystem/inodes", "{}").status == 501);
  CHECK(post(api.port(), "/api/cpu/usage_rate", body(R"("namespace": "gamma")"), "alice").status == 403);
}
