#pragma once

// The kubelet's resource managers for one simulated node, so the demo's agents read real kubelet
// state. The CPU manager: the static policy, CPUs reserved for the system, and each Guaranteed
// pod's containers with an integer CPU request pinned to exclusive CPUs, on one NUMA node when one
// has room (as the topology manager's single-numa-node preference would), the rest in the shared
// pool; kept in `<kubelet-dir>/cpu_manager_state` in the kubelet's v2 layout. The memory manager
// (sim/memory_manager.hpp) reserves Guaranteed containers' memory and hugepages where their CPUs
// went; the device manager (sim/device_manager.hpp), on machines with GPUs, hands them out. Each
// file carries the checksum the kubelet computes and is rewritten atomically after every change,
// as the kubelet does.
//
// The machine is a sysfs tree (a test fixture) under a host root (sim/machine.hpp).

#include "common/result.hpp"
#include "numa/cpuset.hpp"
#include "sim/device_manager.hpp"
#include "sim/machine.hpp"
#include "sim/memory_manager.hpp"

#include <boost/json/object.hpp>

#include <cstdint>

#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace nodepack::kube {
struct Pod;
}

namespace nodepack::sim {

class SimulatedKubelet {
 public:
  // `reserved`: --reserved-cpus, kept out of every assignment and the shared pool.
  // `reserved_memory`: --reserved-memory, NUMA node -> resource -> bytes.
  SimulatedKubelet(std::string node, Machine machine, numa::CpuSet reserved, std::filesystem::path kubelet_dir,
                   const std::map<int, MemoryRequests>& reserved_memory = {});

  // Brings the assignments in line with the pods bound to this node (other nodes' pods are
  // ignored): admits new pods once, as the kubelet does (exclusive CPUs, memory and devices for
  // their containers), frees those of pods gone or finished, and writes each checkpoint whose
  // content changed (and all of them the first time).
  Result<void> sync(const std::vector<boost::json::object>& pods);

  // pod UID -> container -> exclusive CPUs.
  const std::map<std::string, std::map<std::string, numa::CpuSet>>& assignments() const { return assigned_; }
  numa::CpuSet shared_pool() const;
  const SimulatedMemoryManager& memory() const { return memory_; }
  // Nothing when the machine has no GPUs.
  const std::optional<SimulatedDeviceManager>& devices() const { return devices_; }

 private:
  std::optional<numa::CpuSet> take(unsigned count);
  std::vector<int> numa_nodes_of(const numa::CpuSet& cpus) const;
  struct Changes {
    bool cpu = false;
    bool memory = false;
    bool devices = false;
  };
  Changes admit(const kube::Pod& pod);
  Result<void> write_cpu_state();

  std::string node_;
  Machine machine_;
  numa::CpuSet reserved_;
  std::filesystem::path dir_;
  std::map<std::string, std::map<std::string, numa::CpuSet>> assigned_;
  SimulatedMemoryManager memory_;
  std::optional<SimulatedDeviceManager> devices_;
  std::set<std::string> admitted_;  // pod UIDs
  bool written_ = false;
};

// Gives `node` the machine under `<machines>/<node name>/host`, if there is one: its cpu, memory,
// hugepages and GPU capacity become the machine's (no nvidia.com/gpu without GPUs), allocatable
// less CPU 0 (as --reserved-cpus=0), 1 GiB of memory on the first NUMA node (--reserved-memory)
// and the hugepages, room for 250 pods (the --max-pods of large nodes); the kubelet that keeps
// `<machines>/<node name>/kubelet` is returned. Nothing when there is none.
Result<std::optional<SimulatedKubelet>> machine_for_node(const std::filesystem::path& machines,
                                                         boost::json::object& node);

}  // namespace nodepack::sim
