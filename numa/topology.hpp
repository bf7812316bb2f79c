#pragma once

// NUMA capacity of the host, read through hwloc from the host's /sys and /proc (or a fixture
// tree). Capacity is the machine's, not this container's: CPUs outside our cpuset count.

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

struct Core {
  unsigned logical_index = 0;  // unique across the machine
  unsigned os_index = 0;       // core id within its package, as /sys reports it
  int package = -1;            // package os index, -1 when unknown
  CpuSet cpus;                 // the core's online CPUs on this NUMA node
};

struct PciDevice {
  std::string bus_id;  // "0000:3b:00.0"
  unsigned vendor_id = 0;
  unsigned device_id = 0;
  unsigned class_id = 0;
};

struct NumaNode {
  unsigned id = 0;      // the kernel's node number (os index)
  CpuSet cpus;          // online logical CPUs, allowed to us or not
  CpuSet offline_cpus;  // CPUs of this node that are offline
  std::vector<Core> cores;
  std::uint64_t memory_bytes = 0;
  std::vector<Hugepages> hugepages;  // sorted by page size
  std::vector<PciDevice> pci_devices;
};

struct Topology {
  std::vector<NumaNode> nodes;  // sorted by id
  CpuSet online_cpus;
  CpuSet offline_cpus;
  CpuSet cpus_without_node;  // online CPUs no NUMA node claims
  CpuSet disallowed_cpus;    // online CPUs outside this process's cpuset (still capacity)
  std::vector<PciDevice> pci_without_node;
  std::string source;  // "host" or the fixture root it came from

  const NumaNode* find(unsigned id) const;
};

// Loads the topology under paths.host_root ("/" = this machine). For another root, discovery
// runs in a short-lived child process with HWLOC_FSROOT set there and hands the topology back
// as XML, so this process's environment is never modified. Hugepages come from sysfs under
// paths.sysfs.
Result<Topology> load_topology(const HostPaths& paths);

}  // namespace nodepack::numa
