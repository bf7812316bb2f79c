#pragma once

// What only hwloc knows about the machine: which core and package each CPU is on, the kind hwloc
// gives each NUMA node (its subtype), the PCI devices and where they sit, and which CPUs this
// process may run on. NUMA nodes, their CPUs and memory come from the kernel (kernel_nodes.hpp).

#include "common/host_paths.hpp"
#include "common/result.hpp"
#include "numa/cpuset.hpp"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace nodepack::numa {

struct CpuPlace {
  unsigned core_logical_index = 0;  // unique across the machine
  unsigned core_os_index = 0;       // core id within its package, as /sys reports it
  int package = -1;                 // package os index, -1 when unknown
};

struct PciDevice {
  std::string bus_id;  // "0000:3b:00.0"
  unsigned vendor_id = 0;
  unsigned device_id = 0;
  unsigned class_id = 0;  // base class and subclass, as hwloc keeps them: 0x0302
  // The id a device plugin may hand the device out by besides its bus id: the GPU UUID the
  // NVIDIA driver prints (/proc/driver/nvidia/gpus/<bus>/information). Empty when none.
  std::string driver_id;
};

// "network", "display", ... from the PCI base class, for metric labels.
std::string pci_class_name(unsigned class_id);

struct HwlocPci {
  PciDevice device;
  std::optional<unsigned> locality_node;  // the one NUMA node hwloc places it near, if exactly one
};

struct HwlocFacts {
  std::map<int, CpuPlace> cpus;              // online CPU -> its core and package
  std::map<unsigned, std::string> subtypes;  // NUMA node -> "GPUMemory", "HBM", "SPM", ...
  std::vector<HwlocPci> pci;
  CpuSet allowed_cpus;  // this process's cpuset
};

// Discovers under paths.host_root ("/" = this machine) in a short-lived child process that
// hands the topology back as XML, so this process's environment is never modified: the child
// sets HWLOC_FSROOT for another root and keeps the NUMA nodes hwloc hides by default (NVIDIA GPU
// memory).
Result<HwlocFacts> discover_hwloc(const HostPaths& paths);

}  // namespace nodepack::numa
