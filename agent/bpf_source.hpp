#pragma once

// The agent's per-pod kernel metrics: the BPF and cgroup-file collector registry, with pods and
// containers named through the agent's pod store.

#include "agent/node_state.hpp"
#include "bpf/pod_lookup.hpp"
#include "bpf/registry.hpp"

#include <memory>

namespace nodepack::agent {

class BpfSource {
 public:
  BpfSource(const NodeState& state, bpf::RegistryOptions options);

  // Loads what it can: a program that fails disables its collector only (logged, up=0).
  void start() { registry_->start(); }
  // After pod changes: re-walk the cgroup tree so new pods and containers are attributed.
  void rescan() { registry_->rescan(); }
  bpf::CollectorRegistry& registry() { return *registry_; }

 private:
  class PodsByUid final : public bpf::PodLookup {
   public:
    explicit PodsByUid(const NodeState& state) : state_(state) {}
    std::optional<bpf::PodInfo> by_uid(std::string_view uid) const override;

   private:
    const NodeState& state_;
  };

  PodsByUid pods_;
  std::unique_ptr<bpf::CollectorRegistry> registry_;
};

// "containerd://0123abcd" -> "0123abcd": the id the runtime names its cgroup after.
std::string container_id_hex(std::string_view container_id);

}  // namespace nodepack::agent
