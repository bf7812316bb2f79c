// The aggregator's hot paths at cluster scale: reading reports, building a snapshot from every
// node's last report (the merge), and rendering it for a scrape and for the web page. The cluster
// is the report farm's: 30 pods per node (5,000 nodes = 150,000 pods), three label groups
// (zone; zone + instance type; pool) and two fit shapes, resources cpu, memory and pods.

#include "aggregator/report.hpp"
#include "aggregator/snapshot.hpp"
#include "aggregator/snapshot_render.hpp"
#include "common/clock.hpp"
#include "kube/node.hpp"
#include "sim/report_farm.hpp"

#include <benchmark/benchmark.h>
#include <boost/json.hpp>

namespace {

using namespace nodepack;
using namespace nodepack::aggregator;

struct Cluster {
  ManualClock clock;
  std::vector<std::string> reports;
  NodeMap nodes;
  ReportMap states;
  PendingMap pending;
  std::shared_ptr<SnapshotConfig> config = std::make_shared<SnapshotConfig>();

  explicit Cluster(int node_count) {
    sim::ReportFarm farm(sim::ReportFarmOptions{node_count, 30, 0, 1}, clock);
    for (const auto& object : farm.node_objects()) {
      auto node = kube::parse_node(object).value();
      auto info = std::make_shared<NodeInfo>();
      info->name = node.name;
      info->labels = node.labels;
      info->allocatable = node.allocatable;
      nodes.emplace(node.name, std::move(info));
    }
    for (std::size_t i = 0; i < farm.size(); ++i) {
      reports.push_back(farm.report(i));
      auto parsed = parse_report(reports.back(), farm.node_name(i)).value();
      auto& state = states[parsed.node];
      state.good = std::make_shared<const NodeReport>(std::move(parsed));
      state.good_pulled = clock.now();
      state.has_agent = true;
    }
    for (int i = 0; i < 200; ++i) {
      pending["pending-" + std::to_string(i)] = kube::ResourceList{{"cpu", kube::Quantity::from_milli(250)},
                                                                   {"memory", kube::Quantity::from_units(256LL << 20)}};
    }
    config->resources = {"cpu", "memory", "pods"};
    config->label_groups = {parse_label_group("topology.kubernetes.io/zone").value(),
                            parse_label_group("topology.kubernetes.io/zone,node.kubernetes.io/instance-type").value(),
                            parse_label_group("nodepack.dev/pool").value()};
    config->fit_shapes = {parse_fit_shape("small=cpu:500m,memory:1Gi").value(),
                          parse_fit_shape("large=cpu:4,memory:16Gi").value()};
  }

  std::shared_ptr<const Snapshot> build() const {
    return build_snapshot(SnapshotInputs{nodes, states, pending, clock.now()}, config, 1);
  }
};

const Cluster& cluster(int nodes) {
  static std::map<int, std::unique_ptr<Cluster>> cache;
  auto& slot = cache[nodes];
  if (!slot) {
    slot = std::make_unique<Cluster>(nodes);
  }
  return *slot;
}

void BM_ParseReports(benchmark::State& state) {
  const auto& c = cluster(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    for (const auto& body : c.reports) {
      benchmark::DoNotOptimize(parse_report(body, ""));
    }
  }
  state.counters["reports/s"] =
      benchmark::Counter(static_cast<double>(c.reports.size()), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_ParseReports)->Arg(5000)->Unit(benchmark::kMillisecond);

void BM_BuildSnapshot(benchmark::State& state) {
  const auto& c = cluster(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    benchmark::DoNotOptimize(c.build());
  }
}
BENCHMARK(BM_BuildSnapshot)->Arg(500)->Arg(5000)->Unit(benchmark::kMillisecond);

void BM_RenderMetrics(benchmark::State& state) {
  const auto& c = cluster(static_cast<int>(state.range(0)));
  const auto snapshot = c.build();
  std::size_t bytes = 0;
  for (auto _ : state) {
    auto text = render_snapshot_metrics(*snapshot);
    bytes = text.size();
    benchmark::DoNotOptimize(text);
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_RenderMetrics)->Arg(500)->Arg(5000)->Unit(benchmark::kMillisecond);

// What one scrape after a pull round costs: merge every report into a snapshot, render it.
void BM_MergeAndScrape(benchmark::State& state) {
  const auto& c = cluster(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    auto snapshot = c.build();
    benchmark::DoNotOptimize(render_snapshot_metrics(*snapshot));
  }
}
BENCHMARK(BM_MergeAndScrape)->Arg(5000)->Unit(benchmark::kMillisecond);

void BM_MergeAndScrapeWithoutNodeMetrics(benchmark::State& state) {
  Cluster& c = const_cast<Cluster&>(cluster(static_cast<int>(state.range(0))));
  auto config = std::make_shared<SnapshotConfig>(*c.config);
  config->node_metrics = false;
  for (auto _ : state) {
    auto snapshot = build_snapshot(SnapshotInputs{c.nodes, c.states, c.pending, c.clock.now()}, config, 1);
    benchmark::DoNotOptimize(render_snapshot_metrics(*snapshot));
  }
}
BENCHMARK(BM_MergeAndScrapeWithoutNodeMetrics)->Arg(5000)->Unit(benchmark::kMillisecond);

void BM_SnapshotJson(benchmark::State& state) {
  const auto& c = cluster(static_cast<int>(state.range(0)));
  const auto snapshot = c.build();
  std::size_t bytes = 0;
  for (auto _ : state) {
    auto text = boost::json::serialize(snapshot_json(*snapshot));
    bytes = text.size();
    benchmark::DoNotOptimize(text);
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_SnapshotJson)->Arg(5000)->Unit(benchmark::kMillisecond);

}  // namespace
