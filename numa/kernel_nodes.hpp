#pragma once

// NUMA nodes as the kernel lists them under /sys/devices/system/node, which is what the kubelet
// sees (through cadvisor): every nodeN directory is a node, a CPU belongs to the one node whose
// cpulist names it, a node's memory is its meminfo's MemTotal. hwloc's view differs on machines
// with CPU-less nodes (it gives them the CPUs of their locality) and GPU memory nodes (it hides
// them), so the NUMA model is built on this and takes from hwloc only what only hwloc knows.

#include "common/host_paths.hpp"
#include "common/result.hpp"
#include "numa/cpuset.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace nodepack::numa {

struct Hugepages {
  std::uint64_t page_size_bytes = 0;
  std::uint64_t total_pages = 0;
  std::uint64_t free_pages = 0;
  friend bool operator==(const Hugepages&, const Hugepages&) = default;
};

// "hugepages-2Mi" for 2 MiB pages, as the kubelet names the resource.
std::string hugepage_resource_name(std::uint64_t page_size_bytes);

// What the firmware's HMAT says about reaching the node from its best initiator
// (nodeN/access0/initiators): MB/s and nanoseconds, as the kernel reports them.
struct MemoryAccess {
  std::uint64_t read_bandwidth_mbps = 0;
  std::uint64_t read_latency_ns = 0;
  std::vector<unsigned> initiators;  // nodes whose CPUs are the best initiators
};

struct KernelNode {
  unsigned id = 0;
  CpuSet cpus;          // online CPUs its cpulist names
  CpuSet offline_cpus;  // CPUs its cpulist names that are offline
  std::uint64_t memory_bytes = 0;
  std::vector<Hugepages> hugepages;  // sorted by page size
  // SLIT distance to each node, in the order of `KernelNodes::nodes` (the kernel prints one
  // number per online node); empty when the file is missing or does not fit.
  std::vector<int> distances;
  std::optional<MemoryAccess> access;
};

struct KernelNodes {
  std::vector<KernelNode> nodes;  // sorted by id
  CpuSet online_cpus;
  CpuSet offline_cpus;  // possible or present but not online
  // /proc/meminfo MemTotal: what the per-node totals must add up to. nullopt without the file.
  std::optional<std::uint64_t> memory_total_bytes;
  // False for a kernel without NUMA in sysfs: one node 0 holds every CPU and all memory, as
  // cadvisor models it.
  bool numa_in_sysfs = true;
  // Files that were there but could not be used, for /debug/numa.
  std::vector<std::string> problems;

  const KernelNode* find(unsigned id) const;
};

// Reads paths.sysfs and paths.procfs. Fails only when neither NUMA nodes nor CPUs can be found.
Result<KernelNodes> read_kernel_nodes(const HostPaths& paths);

}  // namespace nodepack::numa
