#include "agent/container_collector.hpp"

#include <map>
#include <string>
#include <vector>

namespace nodepack::agent {

void ContainerCollector::collect(metrics::FamilyOutput& out) const {
  auto& restarts = out.gauge("kpod_container_restarts", "Container restart count from K8s API");
  auto& pods = out.gauge("nodepack_agent_pods", "Pods bound to this node that the agent knows, by phase");
  auto& scoped = out.gauge("nodepack_kpod_pods",
                           "Pods bound to this node that get kpod_* series (tracked) or that the --kpod.* "
                           "filters leave out (filtered)");
  std::map<std::string, int> by_phase;
  int tracked = 0, filtered = 0;
  const std::string& node = state_.node_name();
  std::vector<metrics::LabelRef> labels;
  state_.pods().for_each([&](const kube::StoredPod& stored) {
    const auto& pod = stored.pod;
    ++by_phase[pod.phase.empty() ? "Unknown" : pod.phase];
    if (!scope_.tracks(pod.namespace_name, pod.labels)) {
      ++filtered;
      return;
    }
    ++tracked;
    for (const auto* statuses : {&pod.init_container_statuses, &pod.container_statuses}) {
      for (const auto& s : *statuses) {
        labels.clear();
        scope_.append_label_refs(labels, pod.namespace_name, pod.name, s.name, pod.labels, node);
        restarts.add(labels, static_cast<double>(s.restart_count));
      }
    }
  });
  for (const auto& [phase, count] : by_phase) {
    pods.add({{"node", node}, {"phase", phase}}, count);
  }
  scoped.add({{"node", node}, {"scope", "tracked"}}, tracked);
  scoped.add({{"node", node}, {"scope", "filtered"}}, filtered);
}

}  // namespace nodepack::agent
