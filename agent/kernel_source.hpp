#pragma once

// The agent's per-pod kernel metrics (kpod_*): kpod's collector registry over the agent's shared
// cgroup resolver, with the collectors of this build (kernel_backend.hpp).

#include "agent/kernel_backend.hpp"
#include "agent/source.hpp"
#include "kpod/registry.hpp"
#include "metrics/registry.hpp"

#include <memory>
#include <optional>
#include <string>

namespace nodepack::agent {

class KernelSource final : public Source {
 public:
  // `resolver` null: the host has no cgroup v2 tree and `no_cgroups` says why (every collector
  // is then reported down).
  KernelSource(kpod::RegistryOptions options, cgroup::CgroupResolver* resolver, std::string no_cgroups,
               std::unique_ptr<KernelBackend> backend);

  std::string_view name() const override { return "kernel"; }
  // Loads what it can: a program that fails disables its collector only (logged, up=0).
  void start() override;
  std::shared_ptr<prometheus::Collectable> collector() const override { return metrics_; }
  boost::asio::awaitable<void> run() override;
  // Re-walks the changed pods' cgroups (the whole tree after a relist) so new pods and
  // containers are attributed.
  void pods_changed(const PodChanges& changes) override;
  // Each enabled collector and whether it runs.
  boost::json::value debug_json() const override;
  // The topology collector's edges, current as of this call; nullopt when it does not run.
  std::optional<kpod::TopologySnapshot> topology() const;

 private:
  std::unique_ptr<KernelBackend> backend_;
  std::unique_ptr<kpod::CollectorRegistry> registry_;
  std::shared_ptr<metrics::MetricsRegistry> metrics_;
};

}  // namespace nodepack::agent
