#include "agent/store_pod_lookup.hpp"

#include "cgroup/kubelet_names.hpp"
#include "kube/workload.hpp"

namespace nodepack::agent {

std::optional<cgroup::PodInfo> StorePodLookup::by_uid(std::string_view uid) const {
  cgroup::PodInfo info;
  const bool found = state_.pods().with(std::string(uid), [&](const kube::StoredPod& stored) {
    info.namespace_name = stored.pod.namespace_name;
    info.name = stored.pod.name;
    info.guaranteed = stored.pod.is_guaranteed();
    info.labels.insert(stored.pod.labels.begin(), stored.pod.labels.end());
    info.workload = kube::workload_of(stored.pod).name;
    for (const auto* statuses : {&stored.pod.container_statuses, &stored.pod.init_container_statuses}) {
      for (const auto& status : *statuses) {
        if (!status.container_id.empty()) {
          info.containers.emplace(cgroup::strip_runtime_prefix(status.container_id), status.name);
        }
      }
    }
  });
  if (!found) {
    return std::nullopt;
  }
  return info;
}

}  // namespace nodepack::agent
