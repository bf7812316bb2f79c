#pragma once

// The agent's NUMA side: topology from hwloc, the kubelet's checkpoint files re-read on inotify
// and on a timer, containers named through the agent's pod store.

#include "agent/source.hpp"
#include "cgroup/pod_lookup.hpp"
#include "common/clock.hpp"
#include "common/host_paths.hpp"
#include "numa/numa_state.hpp"
#include "numa/refresh_trigger.hpp"

#include <boost/json/array.hpp>

#include <memory>

namespace nodepack::agent {

class NumaSource final : public Source {
 public:
  NumaSource(std::string node_name, const cgroup::PodLookup& pods, HostPaths paths, numa::CpuSet reserved_cpus,
             const Clock& clock);

  std::string_view name() const override { return "numa"; }
  // Loads the topology; a failure is logged and shown in /debug/numa and metrics, not fatal.
  void start() override;
  std::shared_ptr<prometheus::Collectable> collector() const override { return collector_; }
  // Polls the refresh trigger: the kubelet's files changed.
  boost::asio::awaitable<void> run() override;
  // New pod names for existing entries, or entries now orphaned.
  void pods_changed() override;
  boost::json::value debug_json() const override;

  // The per-NUMA zones of the node report.
  boost::json::array zones_json() const;

 private:
  std::unique_ptr<numa::NumaState> numa_;
  std::unique_ptr<numa::RefreshTrigger> trigger_;
  std::shared_ptr<prometheus::Collectable> collector_;
};

}  // namespace nodepack::agent
