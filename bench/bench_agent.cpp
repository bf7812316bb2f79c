// The agent's hot paths: applying a watch event to the node state, rendering /metrics for a
// full node (110 pods, 6 resources), and the accounting series of a node under churn.

#include "agent/accounting/accounting_source.hpp"
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

// The accounting part of a scrape five minutes into the churn of bench/agent_process.sh: about 80
// running containers and 720 finished ones still exported for the retention. Rendered as the
// HTTP server does, the buffer handed back after each scrape.
void BM_ScrapeAccounting80Running720Finished(benchmark::State& state) {
  ManualClock clock;
  agent::NodeState node_state("n1", kube::ResizeSemantics::per_container);
  agent::accounting::AccountingOptions options;
  options.node = "n1";
  options.nvml_library = "no-such-libnvidia-ml.so.1";
  options.paths = HostPaths::under("/nonexistent-host-root");
  agent::accounting::AccountingSource source(node_state, options, nullptr, "no cgroups in this bench", clock);
  source.start();
  node_state.subscribe(&source);
  // 267 pods of three containers (an init container, two others); 240 of them are deleted one
  // after the other, a second apart, inside the five minutes' retention: 81 running containers'
  // accounts, 720 finished ones.
  for (int i = 0; i < 267; ++i) {
    (void)node_state.pod_sink().apply(kube::WatchEventType::added, json::value(pod(i, "250m")));
  }
  for (int i = 0; i < 240; ++i) {
    clock.advance(std::chrono::seconds(1));
    (void)node_state.pod_sink().apply(kube::WatchEventType::deleted, json::value(pod(i, "250m")));
  }
  metrics::MetricsRegistry registry;
  registry.add(source.collector());
  std::size_t bytes = 0;
  for (auto _ : state) {
    clock.advance(std::chrono::microseconds(1));  // the running containers' values move
    auto text = registry.render();
    bytes = text.size();
    registry.recycle(std::move(text));
  }
  state.counters["bytes"] = static_cast<double>(bytes);
  node_state.unsubscribe(&source);
}
BENCHMARK(BM_ScrapeAccounting80Running720Finished);

}  // namespace
