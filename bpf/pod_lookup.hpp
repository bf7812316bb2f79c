#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace nodepack::bpf {

// What the BPF collectors need to know about a pod. The agent adapts its pod store to
// PodLookup; bpf/ never sees the Kubernetes model.
struct PodInfo {
  std::string namespace_name;
  std::string name;
  // container ID as the runtime names its cgroup (hex, no "containerd://" prefix) → container name
  std::map<std::string, std::string, std::less<>> containers;
};

class PodLookup {
 public:
  virtual ~PodLookup() = default;
  // uid with dashes, as in metadata.uid.
  virtual std::optional<PodInfo> by_uid(std::string_view uid) const = 0;
};

}  // namespace nodepack::bpf
