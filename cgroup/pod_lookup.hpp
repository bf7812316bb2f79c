#pragma once

// What the cgroup side knows about a pod, and how it asks. The agent adapts its pod store to
// PodLookup; nothing below the agent sees the Kubernetes model.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace nodepack::cgroup {

// A pod's metadata.labels.
using LabelMap = std::map<std::string, std::string, std::less<>>;

struct PodInfo {
  std::string namespace_name;
  std::string name;
  // container ID as the runtime names its cgroup (hex, no "containerd://" prefix) → container name
  std::map<std::string, std::string, std::less<>> containers;
  // Guaranteed QoS class as the kubelet decides it; nullopt when the lookup cannot tell.
  std::optional<bool> guaranteed;
  LabelMap labels;
  std::string workload;  // its controller's name (the Deployment, not the ReplicaSet); empty: unknown
};

class PodLookup {
 public:
  virtual ~PodLookup() = default;
  // uid with dashes, as in metadata.uid; nullopt when no such pod is bound to the node.
  virtual std::optional<PodInfo> by_uid(std::string_view uid) const = 0;
};

// A cgroup named: the pod it belongs to and, below the pod level, its container.
struct PodIdentity {
  std::string namespace_name;
  std::string pod;
  std::string container;  // empty for the pod-level cgroup and containers the pod store does not name
  std::string pod_uid;
  LabelMap labels;       // the pod's, for kpod's filters and copied labels
  std::string workload;  // as PodInfo::workload
};

// Shared and immutable: the resolver keeps one per cgroup and hands out the same, so the many
// lookups of every scrape copy no strings or label maps. Null: not a pod's cgroup.
using PodIdentityRef = std::shared_ptr<const PodIdentity>;

}  // namespace nodepack::cgroup
