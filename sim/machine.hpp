#pragma once

// The machine a simulated node runs on: a sysfs/procfs tree (a test fixture) under a host root,
// read as the kubelet's managers see it. NUMA nodes, their CPUs and memory come from
// `sys/devices/system/node/nodeN`, hugepages from the node's `hugepages/`, GPUs from the NVIDIA
// driver's `proc/driver/nvidia/gpus/<bus id>` (their UUIDs, the ids NVIDIA's device plugin hands
// out) with the NUMA node of the PCI device (`sys/bus/pci/devices/<bus id>/numa_node`), the
// affinity the device plugin reports.

#include "common/result.hpp"
#include "numa/cpuset.hpp"

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace nodepack::sim {

struct MachineGpu {
  std::string id;      // "GPU-<uuid>"
  int numa_node = -1;  // -1: the device is on no NUMA node
};

struct MachineNode {
  int id = 0;
  numa::CpuSet cpus;                               // empty for memory-only nodes (a GPU's memory, CXL)
  std::uint64_t memory = 0;                        // MemTotal, hugepages included
  std::map<std::string, std::uint64_t> hugepages;  // "hugepages-2Mi" -> bytes the node holds
};

struct Machine {
  std::vector<MachineNode> nodes;  // the nodes there are, by id
  numa::CpuSet cpus;               // every CPU
  std::uint64_t memory_bytes = 0;  // MemTotal over every NUMA node, as the kubelet's capacity
  std::vector<MachineGpu> gpus;    // by PCI bus id

  // Every hugepage size: "hugepages-2Mi" -> bytes over all nodes.
  std::map<std::string, std::uint64_t> hugepages() const;

  // Reads the machine under `host_root`.
  static Result<Machine> read(const std::filesystem::path& host_root);
};

}  // namespace nodepack::sim
