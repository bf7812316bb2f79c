#include "agent/container_collector.hpp"

#include "metrics/family.hpp"

#include <map>

namespace nodepack::agent {

std::vector<prometheus::MetricFamily> ContainerCollector::Collect() const {
  using metrics::Family;
  auto restarts = Family::gauge("kpod_container_restarts", "Container restart count from K8s API");
  auto pods = Family::gauge("nodepack_agent_pods", "Pods bound to this node that the agent knows, by phase");
  std::map<std::string, int> by_phase;
  const std::string& node = state_.node_name();
  for (const auto& stored : state_.pods().pods()) {
    const auto& pod = stored.pod;
    ++by_phase[pod.phase.empty() ? "Unknown" : pod.phase];
    for (const auto* statuses : {&pod.init_container_statuses, &pod.container_statuses}) {
      for (const auto& s : *statuses) {
        restarts.add({{"namespace", pod.namespace_name}, {"pod", pod.name}, {"container", s.name}, {"node", node}},
                     static_cast<double>(s.restart_count));
      }
    }
  }
  for (const auto& [phase, count] : by_phase) {
    pods.add({{"node", node}, {"phase", phase}}, count);
  }
  std::vector<prometheus::MetricFamily> out;
  metrics::emit(out, restarts, pods);
  return out;
}

}  // namespace nodepack::agent
