#pragma once

// The agent's NUMA side: the host's NUMA nodes as the kubelet sees them, the kubelet's
// pod-resources API polled on a thread of its own, its checkpoint files re-read on inotify and on
// a timer, containers named through the agent's pod store.

#include "agent/source.hpp"
#include "cgroup/pod_lookup.hpp"
#include "common/clock.hpp"
#include "common/host_paths.hpp"
#include "numa/numa_state.hpp"
#include "numa/refresh_trigger.hpp"

#include <boost/json/array.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace nodepack::podresources {
class Poller;
}

namespace nodepack::agent {

struct NumaSourceOptions {
  std::string node_name;
  HostPaths paths;
  numa::CpuSet reserved_cpus;
  std::string podresources_socket;  // empty: not asked
  std::chrono::milliseconds podresources_interval{10'000};
  std::chrono::milliseconds podresources_min_gap{1'000};
};

class NumaSource final : public Source {
 public:
  NumaSource(NumaSourceOptions options, const cgroup::PodLookup& pods, const Clock& clock);
  ~NumaSource() override;

  std::string_view name() const override { return "numa"; }
  // Loads the topology (a failure is logged and shown in /debug/numa and metrics, not fatal) and
  // starts asking pod-resources.
  void start() override;
  std::shared_ptr<prometheus::Collectable> collector() const override { return collector_; }
  // Polls the refresh trigger: the kubelet's files changed; pod-resources is asked again then.
  boost::asio::awaitable<void> run() override;
  // New pod names for existing entries, or entries now orphaned; pod-resources is asked again.
  void pods_changed(const PodChanges&) override;
  void stop() override;
  boost::json::value debug_json() const override;

  // The per-NUMA zones of the node report.
  boost::json::array zones_json() const;
  const numa::NumaState& state() const { return *numa_; }

 private:
  NumaSourceOptions options_;
  std::unique_ptr<numa::NumaState> numa_;
  std::unique_ptr<numa::RefreshTrigger> trigger_;
  std::unique_ptr<podresources::Poller> poller_;  // null without a socket
  std::shared_ptr<prometheus::Collectable> collector_;
  const Clock& clock_;
};

}  // namespace nodepack::agent
