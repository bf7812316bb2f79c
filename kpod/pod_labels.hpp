#pragma once

#include "cgroup/pod_lookup.hpp"
#include "metrics/family.hpp"

#include <string>

namespace nodepack::kpod {

// The labels of every kpod_* series: namespace, pod, container (omitted when empty), node, then
// any extra labels.
inline metrics::Labels pod_labels(const cgroup::PodIdentity& id, const std::string& node, metrics::Labels extra = {}) {
  metrics::Labels out;
  out.reserve(4 + extra.size());
  out.push_back({"namespace", id.namespace_name});
  out.push_back({"pod", id.pod});
  if (!id.container.empty()) {
    out.push_back({"container", id.container});
  }
  out.push_back({"node", node});
  for (auto& l : extra) {
    out.push_back(std::move(l));
  }
  return out;
}

}  // namespace nodepack::kpod
