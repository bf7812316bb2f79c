#include "agent/container_collector.hpp"

#include "metrics/family.hpp"

#include <map>

namespace nodepack::agent {

std::vector<prometheus::MetricFamily> ContainerCollector::Collect() const {
  using metrics::Family;
  auto restarts = Family::gauge("kpod_container_restarts", "Container restart count from K8s API");
  auto pods = Family::gauge("nodepack_agent_pods", "Pods bound to this node that the agent knows, by phase");
  auto scoped = Family::gauge("nodepack_kpod_pods",
                              "Pods bound to this node that get kpod_* series (tracked) or that the --kpod.* "
                              "filters leave out (filtered)");
  std::map<std::string, int> by_phase;
  int tracked = 0, filtered = 0;
  const std::string& node = state_.node_name();
  state_.pods().for_each([&](const kube::StoredPod& stored) {
    const auto& pod = stored.pod;
    ++by_phase[pod.phase.empty() ? "Unknown" : pod.phase];
    cgroup::PodIdentity id{pod.namespace_name, pod.name, "", pod.uid, {pod.labels.begin(), pod.labels.end()}};
    if (!scope_.tracks(id)) {
      ++filtered;
      return;
    }
    ++tracked;
    for (const auto* statuses : {&pod.init_container_statuses, &pod.container_statuses}) {
      for (const auto& s : *statuses) {
        id.container = s.name;
        restarts.add(scope_.labels(id, node), static_cast<double>(s.restart_count));
      }
    }
  });
  for (const auto& [phase, count] : by_phase) {
    pods.add({{"node", node}, {"phase", phase}}, count);
  }
  scoped.add({{"node", node}, {"scope", "tracked"}}, tracked);
  scoped.add({{"node", node}, {"scope", "filtered"}}, filtered);
  std::vector<prometheus::MetricFamily> out;
  metrics::emit(out, restarts, pods, scoped);
  return out;
}

}  // namespace nodepack::agent
