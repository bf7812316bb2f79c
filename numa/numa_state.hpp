#pragma once

// The agent's NUMA view: topology, the kubelet's two accounts of what it handed out (the
// pod-resources API's last answer, the three checkpoint files) and the joined allocation model,
// published as immutable snapshots so scrapes and reports never see a half-built state.

#include "cgroup/pod_lookup.hpp"
#include "common/clock.hpp"
#include "common/host_paths.hpp"
#include "common/result.hpp"
#include "numa/allocation.hpp"
#include "numa/checkpoint_file.hpp"
#include "numa/pod_resources.hpp"
#include "numa/topology.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace nodepack::numa {

struct NumaOptions {
  HostPaths paths;
  std::string node_name;
  CpuSet reserved_cpus;  // the kubelet's --reserved-cpus, when known: allocatable = capacity - reserved
  std::size_t max_file_bytes = default_max_checkpoint_bytes;
  std::string podresources_socket;  // empty: pod-resources is not asked (inspect, --podresources-socket="")
};

struct NumaSnapshot {
  std::string node_name;
  std::shared_ptr<const Topology> topology;  // null until a topology loaded
  std::string topology_error;                // why the last load failed, if it did
  AllocationModel model;
  std::vector<FileState> files;  // cpu_manager_state, memory_manager_state, kubelet_internal_checkpoint
  PodResourcesState podresources;
  // The answer the model was built from; null when the model is the checkpoints'.
  std::shared_ptr<const PodResourcesAnswer> podresources_answer;
  std::chrono::system_clock::time_point built_at;
  std::uint64_t generation = 0;
};

class NumaState {
 public:
  // `pods` may be null (inspect mode): entries are then neither named nor called orphaned.
  NumaState(NumaOptions options, const Clock& clock, const cgroup::PodLookup* pods = nullptr);

  // Discovers the topology through hwloc. On failure the previous topology, if any, is kept.
  Result<void> load_topology();
  // Re-reads the checkpoint files (call when RefreshTrigger::poll() says so). Rebuilds and
  // publishes a snapshot when anything changed; returns whether it did.
  bool refresh();
  // Re-joins without reading, e.g. after the pod directory learned about new pods.
  void rebuild();

  // What pod-resources answered, or why it did not (call on the thread that calls refresh()).
  // An answer naming CPUs or NUMA nodes the machine does not have is refused as bad_answer; the
  // last good answer is kept either way.
  void podresources_answered(PodResourcesAnswer answer);
  void podresources_failed(const PodResourcesFailure& failure);

  std::shared_ptr<const NumaSnapshot> snapshot() const;
  const NumaOptions& options() const { return options_; }

 private:
  void publish();

  NumaOptions options_;
  // CPU ids the kubelet's files may name: the machine's once its topology is known.
  int cpu_limit_ = CpuSet::hard_cpu_limit;
  const Clock& clock_;
  const cgroup::PodLookup* pods_;
  std::shared_ptr<const Topology> topology_;
  std::string topology_error_;
  CheckpointFile<CpuManagerState> cpu_;
  CheckpointFile<MemoryManagerState> memory_;
  CheckpointFile<DeviceCheckpoint> devices_;
  PodResourcesState podresources_;
  std::shared_ptr<const PodResourcesAnswer> last_answer_;  // the last good one
  std::uint64_t generation_ = 0;
  mutable std::mutex mu_;
  std::shared_ptr<const NumaSnapshot> snapshot_;
};

}  // namespace nodepack::numa
