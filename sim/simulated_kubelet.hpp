#pragma once

// The kubelet's CPU manager for one simulated node, so the demo's agents read real kubelet state:
// the static policy, CPUs reserved for the system, and each Guaranteed pod's containers with an
// integer CPU request pinned to exclusive CPUs, on one NUMA node when one has room (as the
// topology manager's single-numa-node preference would), the rest in the shared pool. Kept in
// `<kubelet-dir>/cpu_manager_state` in the kubelet's v2 layout with the checksum the kubelet
// computes, rewritten atomically after every change, as the kubelet does.
//
// The machine is a sysfs tree (a test fixture) under a host root: its NUMA nodes and their CPUs
// come from `sys/devices/system/node/nodeN/cpulist`.

#include "common/result.hpp"
#include "numa/cpuset.hpp"

#include <boost/json/object.hpp>

#include <cstdint>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace nodepack::sim {

struct Machine {
  std::vector<numa::CpuSet> numa_nodes;  // CPUs of NUMA node i (memory-only nodes have none)
  numa::CpuSet cpus;                     // every CPU
  std::uint64_t memory_bytes = 0;        // MemTotal over every NUMA node, as the kubelet's capacity

  // Reads the NUMA nodes of a sysfs tree under `host_root`.
  static Result<Machine> read(const std::filesystem::path& host_root);
};

class SimulatedKubelet {
 public:
  // `reserved`: --reserved-cpus, kept out of every assignment and the shared pool.
  SimulatedKubelet(std::string node, Machine machine, numa::CpuSet reserved, std::filesystem::path kubelet_dir);

  // Brings the assignments in line with the pods bound to this node (other nodes' pods are
  // ignored): pins new Guaranteed containers, frees those of pods gone or finished, and writes the
  // checkpoint when anything changed (and the first time).
  Result<void> sync(const std::vector<boost::json::object>& pods);

  // pod UID -> container -> exclusive CPUs.
  const std::map<std::string, std::map<std::string, numa::CpuSet>>& assignments() const { return assigned_; }
  numa::CpuSet shared_pool() const;

 private:
  std::optional<numa::CpuSet> take(unsigned count);
  Result<void> write();

  std::string node_;
  Machine machine_;
  numa::CpuSet reserved_;
  std::filesystem::path dir_;
  std::map<std::string, std::map<std::string, numa::CpuSet>> assigned_;
  bool written_ = false;
};

// Gives `node` the machine under `<machines>/<node name>/host`, if there is one: its cpu and
// memory capacity become the machine's, allocatable less CPU 0 (as --reserved-cpus=0) and 1 GiB,
// room for 250 pods (the --max-pods of large nodes); the kubelet that keeps
// `<machines>/<node name>/kubelet` is returned. Nothing when there is none.
Result<std::optional<SimulatedKubelet>> machine_for_node(const std::filesystem::path& machines,
                                                         boost::json::object& node);

}  // namespace nodepack::sim
