// The agent's hot paths: applying a watch event to the node state, and rendering /metrics for a
// full node (110 pods, 6 resources).

#include "agent/binpacking_collector.hpp"
#include "agent/node_state.hpp"
#include "metrics/build_info.hpp"
#include "metrics/process_collector.hpp"
#include "metrics/registry.hpp"

#include <benchmark/benchmark.h>
#include <boost/json.hpp>

namespace {

using namespace nodepack;
namespace json = boost::json;

json::object pod(int i, const std::string& cpu) {
  return json::parse(R"({"metadata":{"name":"pod-)" + std::to_string(i) + R"(","namespace":"default","uid":"uid-)" +
                     std::to_string(i) + R"(","ownerReferences":[{"kind":")" +
                     (i % 10 == 0 ? "DaemonSet" : "ReplicaSet") +
                     R"(","name":"o"}]},"spec":{"nodeName":"n1","containers":[
      {"name":"app","resources":{"requests":{"cpu":")" +
                     cpu + R"(","memory":"256Mi","ephemeral-storage":"1Gi"}}},
      {"name":"proxy","resources":{"requests":{"cpu":"50m","memory":"64Mi"}}}],
     "initContainers":[{"name":"init","resources":{"requests":{"cpu":"1","memory":"32Mi"}}}]},
     "status":{"phase":"Running"}})")
      .as_object();
}

json::object node() {
  return json::parse(R"({"metadata":{"name":"n1"},"status":{"allocatable":{"cpu":"63770m","memory":"250Gi",
      "pods":"110","ephemeral-storage":"400Gi","nvidia.com/gpu":"8","hugepages-2Mi":"1Gi"}}})")
      .as_object();
}

void BM_ApplyPodWatchEvent(benchmark::State& state) {
  agent::NodeState node_state("n1", kube::ResizeSemantics::per_container);
  std::vector<json::value> pods;
  for (int i = 0; i < 110; ++i) {
    pods.emplace_back(pod(i, "250m"));
  }
  (void)node_state.pod_sink().replace(pods);
  // Alternate between two versions of one pod, as a stream of MODIFIED events would.
  const json::value a = pod(7, "250m");
  const json::value b = pod(7, "500m");
  bool flip = false;
  for (auto _ : state) {
    auto r = node_state.pod_sink().apply(kube::WatchEventType::modified, flip ? a : b);
    benchmark::DoNotOptimize(r);
    flip = !flip;
  }
}
BENCHMARK(BM_ApplyPodWatchEvent);

void BM_RenderMetrics110Pods6Resources(benchmark::State& state) {
  agent::NodeState node_state("n1", kube::ResizeSemantics::per_container);
  (void)node_state.node_sink().replace({json::value(node())});
  std::vector<json::value> pods;
  for (int i = 0; i < 110; ++i) {
    pods.emplace_back(pod(i, std::to_string(100 + i) + "m"));
  }
  (void)node_state.pod_sink().replace(pods);
  ManualClock clock;
  metrics::MetricsRegistry registry;
  registry.add(std::make_shared<agent::BinpackingCollector>(
      node_state,
      std::vector<std::string>{"cpu", "memory", "pods", "ephemeral-storage", "nvidia.com/gpu", "hugepages-2Mi"}, true,
      [] { return std::vector<kube::ReflectorStatus>(2); }, clock, clock.now()));
  registry.add(std::make_shared<metrics::BuildInfoCollector>());
  std::size_t bytes = 0;
  for (auto _ : state) {
    auto text = registry.render();
    bytes = text.size();
    benchmark::DoNotOptimize(text);
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_RenderMetrics110Pods6Resources);

void BM_RenderMetricsWithProcessCollector(benchmark::State& state) {
  metrics::MetricsRegistry registry;
  registry.add(std::make_shared<metrics::ProcessCollector>());
  for (auto _ : state) {
    benchmark::DoNotOptimize(registry.render());
  }
}
BENCHMARK(BM_RenderMetricsWithProcessCollector);

}  // namespace
