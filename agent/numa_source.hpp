#pragma once

// The agent's NUMA side: topology from hwloc, the kubelet's checkpoint files re-read on inotify
// and on a timer, containers named through the agent's pod store.

#include "agent/node_state.hpp"
#include "common/clock.hpp"
#include "common/host_paths.hpp"
#include "numa/numa_state.hpp"
#include "numa/pod_directory.hpp"
#include "numa/refresh_trigger.hpp"

#include <prometheus/collectable.h>
#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

#include <memory>

namespace nodepack::agent {

// Guaranteed QoS as the kubelet decides it: every container (init included) has cpu and memory
// limits, and requests, where given, equal them.
bool is_guaranteed(const kube::Pod& pod);

class NumaSource {
 public:
  NumaSource(const NodeState& state, HostPaths paths, numa::CpuSet reserved_cpus, const Clock& clock);

  // Loads the topology; a failure is logged and shown in /debug/numa and metrics, not fatal.
  void start();
  // Polls the refresh trigger and re-joins when pods change; runs on the agent's io_context.
  boost::asio::awaitable<void> run();

  std::shared_ptr<prometheus::Collectable> collector() const { return collector_; }
  boost::json::value debug_json() const;
  boost::json::array zones_json() const;

 private:
  class PodNames final : public numa::PodDirectory {
   public:
    explicit PodNames(const NodeState& state) : state_(state) {}
    std::optional<numa::PodName> find(std::string_view pod_uid) const override;

   private:
    const NodeState& state_;
  };

  const NodeState& state_;
  PodNames names_;
  std::unique_ptr<numa::NumaState> numa_;
  std::unique_ptr<numa::RefreshTrigger> trigger_;
  std::shared_ptr<prometheus::Collectable> collector_;
};

}  // namespace nodepack::agent
