// The catalogue and the PromQL built for each kind of request, as text. The numbers these queries
// give are checked against a real Prometheus in test_billing_prometheus.cpp.

#include "aggregator/billing/catalogue.hpp"
#include "aggregator/billing/queries.hpp"

#include <catch2/catch.hpp>

#include <set>

using namespace nodepack::billing;

namespace {

constexpr std::int64_t t0 = 1767225600;

MetricRequest request(Agg agg, std::int64_t limit = 100) {
  MetricRequest r;
  r.ns = "beta";
  r.limit = limit;
  r.agg = agg;
  r.begin = t0 + 1800;
  r.end = t0 + 5400;
  return r;
}

const MetricDef& metric(std::string_view name) {
  const MetricDef* m = find_metric(name);
  REQUIRE(m != nullptr);
  return *m;
}

}  // namespace

TEST_CASE("catalogue: every metric of the seed's two tables, once") {
  const std::set<std::string_view> seed{"cpu/limit",
                                        "cpu/node_capacity",
                                        "cpu/node_allocatable",
                                        "cpu/node_reservation",
                                        "cpu/node_utilization",
                                        "cpu/request",
                                        "cpu/usage",
                                        "cpu/usage_rate",
                                        "filesystem/usage",
                                        "filesystem/limit",
                                        "filesystem/available",
                                        "filesystem/inodes",
                                        "filesystem/inodes_free",
                                        "gpu/usage",
                                        "memory/limit",
                                        "memory/major_page_faults",
                                        "memory/major_page_faults_rate",
                                        "memory/node_capacity",
                                        "memory/node_allocatable",
                                        "memory/node_reservation",
                                        "memory/node_utilization",
                                        "memory/page_faults",
                                        "memory/page_faults_rate",
                                        "memory/request",
                                        "memory/usage",
                                        "memory/cache",
                                        "memory/rss",
                                        "memory/working_set",
                                        "network/rx",
                                        "network/rx_errors",
                                        "network/rx_errors_rate",
                                        "network/rx_rate",
                                        "network/tx",
                                        "network/tx_errors",
                                        "network/tx_errors_rate",
                                        "network/tx_rate",
                                        "uptime"};
  std::set<std::string_view> names;
  for (const auto& m : catalogue()) {
    CHECK(names.insert(m.name).second);
    CHECK_FALSE(m.unit.empty());
    CHECK_FALSE(m.description.empty());
    CHECK(m.not_collected.empty() == !m.source.empty());
  }
  CHECK(names == seed);
  std::set<std::string_view> main;
  for (const auto& m : catalogue()) {
    if (m.main) {
      main.insert(m.name);
    }
  }
  CHECK(main == std::set<std::string_view>{"cpu/usage_rate", "memory/usage", "gpu/usage"});
  CHECK(find_metric("cpu/usage_rates") == nullptr);
  CHECK(find_metric("") == nullptr);
  // Not collected by nodepack: answered 501, never invented.
  for (const char* name : {"filesystem/inodes", "filesystem/inodes_free"}) {
    CHECK_FALSE(metric(name).not_collected.empty());
  }
}

TEST_CASE("steps: at most `limit` points in [begin, end), rate windows of at least 5 minutes") {
  CHECK(series_step(0, 3600, 100) == 36);
  CHECK(series_step(0, 3600, 12) == 300);
  CHECK(series_step(0, 3600, 7) == 515);  // 7 points: 0, 515, ..., 3090
  CHECK(series_step(0, 10, 100) == 1);
  CHECK(rate_window(36) == 300);
  CHECK(rate_window(900) == 900);
  CHECK(average_step(3600) == 60);
  CHECK(average_step(400 * 86400) == 3456);
  CHECK(billing_step(3600, 300) == 300);
  CHECK(billing_step(31 * 86400, 300) == 300);
  CHECK(billing_step(400 * 86400, 300) == 3456);
}

TEST_CASE("series: a rate per container over the namespace") {
  NamespaceScope scope;
  scope.only = "beta";
  const RangeQuery q = series_query(metric("cpu/usage_rate"), request(Agg::none, 12), scope);
  CHECK(q.promql ==
        "sum by (namespace, pod, container) (rate(kpod_cpu_usage_seconds_total{namespace=\"beta\"}[300s])) * 1000");
  CHECK(q.start == t0 + 1800);
  CHECK(q.step == 300);
  CHECK(q.end == t0 + 1800 + 11 * 300);  // 12 points, the last before the end
}

TEST_CASE("series: gauges and counters as they are, pod metrics per pod, node metrics per node") {
  NamespaceScope scope;
  scope.only = "beta";
  CHECK(series_query(metric("memory/usage"), request(Agg::none), scope).promql ==
        "sum by (namespace, pod, container) (kpod_mem_cgroup_usage_bytes{namespace=\"beta\"})");
  CHECK(series_query(metric("cpu/usage"), request(Agg::none), scope).promql ==
        "sum by (namespace, pod, container) (kpod_cpu_usage_seconds_total{namespace=\"beta\"})");
  CHECK(series_query(metric("network/rx_rate"), request(Agg::none), scope).promql ==
        "sum by (namespace, pod) (rate(kpod_net_iface_rx_bytes_total{namespace=\"beta\"}[300s]))");
  CHECK(series_query(metric("gpu/usage"), request(Agg::none), scope).promql ==
        "sum by (namespace, pod, container) (nodepack_container_gpu_memory_used_bytes{namespace=\"beta\"}) / 1e6");
  CHECK(series_query(metric("cpu/node_utilization"), request(Agg::none, 4), {}).promql ==
        "(sum by (node) (rate(kpod_cpu_usage_seconds_total[900s])) / on (node) sum by (node) "
        "(kube_binpacking_node_allocatable{resource=\"cpu\"}))");
  CHECK(series_query(metric("cpu/node_capacity"), request(Agg::none), {}).promql ==
        "(sum by (node) (numainfo_core_count{type=\"capacity\"})) * 1000");
  CHECK(series_query(metric("memory/node_capacity"), request(Agg::none), {}).promql ==
        "(sum by (node) (numainfo_memory_bytes{type=\"capacity\"}))");
  CHECK(series_query(metric("cpu/node_allocatable"), request(Agg::none), {}).promql ==
        "(sum by (node) (kube_binpacking_node_allocatable{resource=\"cpu\"})) * 1000");
}

TEST_CASE("totals: mean rate, increase and time average per group, evaluated at the end") {
  NamespaceScope beta;
  beta.only = "beta";
  const InstantQuery rate = totals_query(metric("cpu/usage_rate"), request(Agg::pod_by_namespace), beta);
  CHECK(rate.promql ==
        "sum by (namespace, pod) (increase(kpod_cpu_usage_seconds_total{namespace=\"beta\"}[3600s])) / 3600 * 1000");
  CHECK(rate.time_ms == (t0 + 5400) * 1000);
  const InstantQuery counter = totals_query(metric("network/rx"), request(Agg::all_namespace), {});
  CHECK(counter.promql == "sum by (namespace) (increase(kpod_net_iface_rx_bytes_total[3600s]))");
  const InstantQuery gauge = totals_query(metric("memory/usage"), request(Agg::all_pod), {});
  CHECK(gauge.promql ==
        "sum_over_time((sum by (namespace, pod) (kpod_mem_cgroup_usage_bytes))[3600s:60s]) * 60 / 3600");
  CHECK(gauge.time_ms == (t0 + 5400) * 1000 - 1);  // samples at begin, begin+60, ... < end
  const InstantQuery node = totals_query(metric("memory/node_allocatable"), request(Agg::all_pod), {});
  CHECK(node.promql ==
        "sum_over_time((sum by (node) (kube_binpacking_node_allocatable{resource=\"memory\"}))[3600s:60s]) * 60 / "
        "3600");
  CHECK(aggregate_name(MetricKind::rate) == "mean_rate");
  CHECK(aggregate_name(MetricKind::cumulative) == "increase");
  CHECK(aggregate_name(MetricKind::gauge) == "time_average");
}

TEST_CASE("namespace scope: one namespace, the allowed ones, or all") {
  CHECK(namespace_matcher({}) == "");
  CHECK(namespace_matcher({"beta", {}}) == "namespace=\"beta\"");
  CHECK(namespace_matcher({std::nullopt, {"beta", "gamma"}}) == "namespace=~\"beta|gamma\"");
  CHECK(namespace_matcher({"beta", {"beta", "gamma"}}) == "namespace=\"beta\"");
  const InstantQuery q =
      totals_query(metric("cpu/usage"), request(Agg::all_namespace), {std::nullopt, {"beta", "gamma"}});
  CHECK(q.promql == "sum by (namespace) (increase(kpod_cpu_usage_seconds_total{namespace=~\"beta|gamma\"}[3600s]))");
}

TEST_CASE("accounting: increases over the range; billable: requested plus use beyond it per step, at least used") {
  AccountingRequest r;
  r.from = t0 + 1800;
  r.to = t0 + 5400;
  r.by = AccountingBy::pod;
  NamespaceScope scope;
  scope.only = "gamma";
  const AccountingQueries q = accounting_queries(r, scope, 300);
  CHECK(q.step == 300);
  CHECK(q.labels == std::vector<std::string>{"namespace", "pod"});
  CHECK(q.cpu_used.promql ==
        "sum by (namespace, pod) (increase(kpod_cpu_usage_seconds_total{namespace=\"gamma\"}[3600s])) / 3600");
  CHECK(q.cpu_used.time_ms == (t0 + 5400) * 1000);
  CHECK(q.memory_requested.promql ==
        "sum by (namespace, pod) (increase(nodepack_container_memory_requested_byte_seconds_total{namespace=\"gamma\"}"
        "[3600s])) / 1073741824 / 3600");
  CHECK(q.gpu.promql ==
        "sum by (namespace, pod) (increase(nodepack_container_gpu_allocated_seconds_total{namespace=\"gamma\"}"
        "[3600s])) / 3600");
  const auto per_container = [](const std::string& counter, const char* window) {
    return "sum by (namespace, pod, container) (increase(" + counter + "{namespace=\"gamma\"}[" + window + "]))";
  };
  const std::string u = per_container("kpod_cpu_usage_seconds_total", "300s");
  const std::string rq = per_container("nodepack_container_cpu_requested_core_seconds_total", "300s");
  const std::string u_total = per_container("kpod_cpu_usage_seconds_total", "3600s");
  const std::string rq_total = per_container("nodepack_container_cpu_requested_core_seconds_total", "3600s");
  const std::string excess = "sum_over_time(clamp_min(" + u + " - " + rq + " or " + u + ", 0)[3599999ms:300s])";
  const std::string owed = "(" + rq_total + " + " + excess + " or " + rq_total + " or " + excess + ")";
  CHECK(q.cpu_billable.promql ==
        "sum by (namespace, pod) (" + owed + " >= " + u_total + " or " + u_total + " or " + owed + ") / 3600");
  CHECK(q.cpu_billable.time_ms == (t0 + 5400) * 1000);
}
