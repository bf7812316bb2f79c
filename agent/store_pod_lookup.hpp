#pragma once

// The agent's pod store as the cgroup side asks it: one adapter, shared by the cgroup resolver
// (kernel metrics, accounting) and the NUMA model.

#include "agent/node_state.hpp"
#include "cgroup/pod_lookup.hpp"

namespace nodepack::agent {

class StorePodLookup final : public cgroup::PodLookup {
 public:
  explicit StorePodLookup(const NodeState& state) : state_(state) {}
  std::optional<cgroup::PodInfo> by_uid(std::string_view uid) const override;

 private:
  const NodeState& state_;
};

}  // namespace nodepack::agent
