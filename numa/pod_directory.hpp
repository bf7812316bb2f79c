#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace nodepack::numa {

struct PodName {
  std::string namespace_name;
  std::string name;
  std::optional<bool> guaranteed;  // Guaranteed QoS class, when the directory knows it
};

// Names the pods the kubelet's checkpoints refer to by UID. The agent implements it over its
// pod store; numa/ never depends on kube/.
class PodDirectory {
 public:
  virtual ~PodDirectory() = default;
  // nullopt: no pod with this UID is bound to the node (the entry is orphaned).
  virtual std::optional<PodName> find(std::string_view pod_uid) const = 0;
};

}  // namespace nodepack::numa
