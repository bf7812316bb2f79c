// --node-source api's per-event cost: a watch event applied to the aggregator's own pod store
// (aggregator/cluster_pods.hpp) holding the report farm's pods (29 bound pods per node, canonical
// UUIDs as a real API server gives). An event is parsed, its requests computed under both resize
// rules, and looked up; a resize moves the node's totals, a status update changes no figure.

#include "aggregator/cluster_pods.hpp"
#include "common/clock.hpp"
#include "sim/report_farm.hpp"

#include <benchmark/benchmark.h>
#include <boost/json.hpp>

namespace {

using namespace nodepack;
using namespace nodepack::aggregator;

struct Store {
  std::vector<boost::json::value> pods;
  std::unique_ptr<ClusterPods> store;

  explicit Store(int nodes) {
    ManualClock clock;
    sim::ReportFarmOptions options{nodes, 30, 0, true};
    for (auto& object : sim::ReportFarm(options, clock).bound_pod_objects()) {
      pods.emplace_back(std::move(object));
    }
    store = std::make_unique<ClusterPods>(std::vector<std::string>{"cpu", "memory", "pods"},
                                          kube::ResizeSemantics::per_container, [] {});
    store->begin_pages();
    for (std::size_t i = 0; i < pods.size(); i += 500) {
      const std::vector<boost::json::value> page(
          pods.begin() + static_cast<std::ptrdiff_t>(i),
          pods.begin() + static_cast<std::ptrdiff_t>(std::min(i + 500, pods.size())));
      (void)store->add_page(page);
    }
    (void)store->finish_pages();
  }
};

Store& store(int nodes) {
  static std::map<int, std::unique_ptr<Store>> cache;
  auto& slot = cache[nodes];
  if (!slot) {
    slot = std::make_unique<Store>(nodes);
  }
  return *slot;
}

// 1,000 pods spread over the store, each as listed and with its first container's cpu 10m higher:
// applied in turn, every event moves its node's totals.
std::vector<boost::json::value> resize_events(const Store& s) {
  std::vector<boost::json::value> resized;
  std::vector<boost::json::value> restored;
  for (std::size_t k = 0; k < 1000; ++k) {
    const auto& pod = s.pods[(k * 7919) % s.pods.size()];
    restored.push_back(pod);
    auto changed = pod;
    auto& cpu = changed.at("spec").at("containers").at(0).at("resources").at("requests").at("cpu");
    cpu = (kube::Quantity::parse(cpu.as_string()).value() + kube::Quantity::from_milli(10)).to_string();
    resized.push_back(std::move(changed));
  }
  resized.insert(resized.end(), restored.begin(), restored.end());
  return resized;
}

void BM_ClusterPodsStatusUpdate(benchmark::State& state) {
  auto& s = store(static_cast<int>(state.range(0)));
  std::size_t i = 0;
  for (auto _ : state) {
    auto applied = s.store->apply(kube::WatchEventType::modified, s.pods[i]);
    benchmark::DoNotOptimize(applied);
    i = (i + 7919) % s.pods.size();
  }
}
BENCHMARK(BM_ClusterPodsStatusUpdate)->Arg(5000)->Unit(benchmark::kMicrosecond);

void BM_ClusterPodsResize(benchmark::State& state) {
  auto& s = store(static_cast<int>(state.range(0)));
  const auto events = resize_events(s);
  std::size_t i = 0;
  for (auto _ : state) {
    auto applied = s.store->apply(kube::WatchEventType::modified, events[i]);
    benchmark::DoNotOptimize(applied);
    i = (i + 1) % events.size();
  }
}
BENCHMARK(BM_ClusterPodsResize)->Arg(5000)->Unit(benchmark::kMicrosecond);

}  // namespace
