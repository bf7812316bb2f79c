#pragma once

// What kind of memory a NUMA node holds, from what the kernel, the drivers and hwloc say. A
// person reading per-node numbers on a tiered machine needs it: an HBM node without CPUs is not
// a socket, a GPU's memory node is not allocatable to ordinary pods in practice, a CXL node is
// slow.

#include "common/host_paths.hpp"
#include "numa/kernel_nodes.hpp"

#include <map>
#include <string>
#include <string_view>

namespace nodepack::numa {

enum class MemoryKind {
  dram,     // ordinary memory: the node has CPUs, or hwloc says DRAM
  hbm,      // high-bandwidth memory: hwloc says HBM/MCDRAM, or HMAT reads it at twice DRAM's bandwidth
  nvm,      // persistent memory onlined as RAM (a dax device on an NVDIMM bus), hwloc's NVM
  cxl,      // a CXL memory expander onlined as RAM (a dax device of a CXL region)
  gpu,      // a GPU's memory onlined as RAM (the NVIDIA driver's numa_status, hwloc's GPUMemory)
  none,     // the node has no memory (e.g. a GPU driver's reserved node)
  unknown,  // memory without CPUs that nothing identifies
};

std::string_view to_string(MemoryKind kind);

struct MemoryKindOf {
  MemoryKind kind = MemoryKind::unknown;
  std::string because;  // the evidence, for /debug/numa
};

// `hwloc_subtypes`: NUMA node os index -> hwloc's subtype ("GPUMemory", "HBM", "NVM", "SPM", ...)
// where hwloc gave one.
std::map<unsigned, MemoryKindOf> classify_memory(const KernelNodes& nodes, const HostPaths& paths,
                                                 const std::map<unsigned, std::string>& hwloc_subtypes);

}  // namespace nodepack::numa
