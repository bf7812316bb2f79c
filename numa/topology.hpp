#pragma once

// NUMA capacity of the host as the kubelet sees it: nodes, their CPUs and memory from the
// kernel's sysfs (kernel_nodes.hpp), with what only hwloc knows (cores, packages, PCI devices,
// its memory subtypes) joined in. Capacity is the machine's, not this container's: CPUs outside
// our cpuset count.

#include "common/host_paths.hpp"
#include "common/result.hpp"
#include "numa/cpuset.hpp"
#include "numa/hwloc_facts.hpp"
#include "numa/kernel_nodes.hpp"
#include "numa/memory_kind.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace nodepack::numa {

struct Core {
  unsigned logical_index = 0;  // unique across the machine
  unsigned os_index = 0;       // core id within its package, as /sys reports it
  int package = -1;            // package os index, -1 when unknown
  CpuSet cpus;                 // the core's online CPUs on this NUMA node
};

struct NumaNode {
  unsigned id = 0;      // the kernel's node number
  CpuSet cpus;          // online logical CPUs its cpulist names, allowed to us or not
  CpuSet offline_cpus;  // CPUs of this node that are offline
  std::vector<Core> cores;
  std::uint64_t memory_bytes = 0;    // meminfo MemTotal, hugepages included
  std::vector<Hugepages> hugepages;  // sorted by page size
  std::vector<PciDevice> pci_devices;
  MemoryKind memory_kind = MemoryKind::unknown;
  std::string memory_kind_because;
  std::string hwloc_subtype;                        // empty when hwloc gave none
  std::vector<std::pair<unsigned, int>> distances;  // SLIT distance to each node, by node id
  std::optional<MemoryAccess> access;               // HMAT, when the firmware has one

  bool has_cpus() const { return !cpus.empty(); }
};

struct Topology {
  std::vector<NumaNode> nodes;  // sorted by id
  CpuSet online_cpus;
  CpuSet offline_cpus;
  CpuSet cpus_without_node;  // online CPUs no NUMA node claims
  CpuSet disallowed_cpus;    // online CPUs outside this process's cpuset (still capacity)
  std::vector<PciDevice> pci_without_node;
  std::optional<std::uint64_t> memory_total_bytes;  // /proc/meminfo MemTotal
  bool numa_in_sysfs = true;
  std::string source;       // "host" or the root it came from
  std::string hwloc_error;  // set when hwloc failed: no cores, packages or PCI devices then
  std::vector<std::string> problems;

  const NumaNode* find(unsigned id) const;
};

// Loads the topology under paths.host_root ("/" = this machine): nodes from paths.sysfs,
// paths.procfs; hwloc's facts through discover_hwloc(). Fails only when the kernel's view
// cannot be read; an hwloc failure leaves cores and PCI devices out and says so.
Result<Topology> load_topology(const HostPaths& paths);

// The same join, for callers that already hold both halves (tests, and load_topology itself).
Topology join_topology(const KernelNodes& kernel, const Result<HwlocFacts>& hwloc, const HostPaths& paths);

}  // namespace nodepack::numa
