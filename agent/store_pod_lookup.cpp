#include "agent/store_pod_lookup.hpp"

#include "cgroup/kubelet_names.hpp"
#include "kube/workload.hpp"

namespace nodepack::agent {

std::optional<cgroup::PodInfo> StorePodLookup::by_uid(std::string_view uid) const {
  auto stored = state_.pods().find(std::string(uid));
  if (!stored) {
    return std::nullopt;
  }
  cgroup::PodInfo info;
  info.namespace_name = stored->pod.namespace_name;
  info.name = stored->pod.name;
  info.guaranteed = stored->pod.is_guaranteed();
  info.labels.insert(stored->pod.labels.begin(), stored->pod.labels.end());
  info.workload = kube::workload_of(stored->pod).name;
  for (const auto* statuses : {&stored->pod.container_statuses, &stored->pod.init_container_statuses}) {
    for (const auto& status : *statuses) {
      if (!status.container_id.empty()) {
        info.containers.emplace(cgroup::strip_runtime_prefix(status.container_id), status.name);
      }
    }
  }
  return info;
}

}  // namespace nodepack::agent
