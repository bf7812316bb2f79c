#include "numa/memory_kind.hpp"

#include "common/files.hpp"
#include "common/strings.hpp"

#include <algorithm>
#include <sstream>

namespace nodepack::numa {

namespace fs = std::filesystem;

std::string_view to_string(MemoryKind kind) {
  switch (kind) {
    case MemoryKind::dram:
      return "dram";
    case MemoryKind::hbm:
      return "hbm";
    case MemoryKind::nvm:
      return "nvm";
    case MemoryKind::cxl:
      return "cxl";
    case MemoryKind::gpu:
      return "gpu";
    case MemoryKind::none:
      return "none";
    case MemoryKind::unknown:
      return "unknown";
  }
  return "unknown";
}

namespace {

// The NVIDIA driver's /proc/driver/nvidia/gpus/<bus>/numa_status: "Node:  <n>" names the node
// the GPU's memory was onlined into (-1 when none).
std::map<unsigned, std::string> nvidia_gpu_nodes(const fs::path& procfs) {
  std::map<unsigned, std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(procfs / "driver/nvidia/gpus", ec), end; !ec && it != end; it.increment(ec)) {
    auto text = read_small_file(it->path() / "numa_status");
    if (!text) {
      continue;
    }
    std::istringstream in(*text);
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("Node:", 0) != 0) {
        continue;
      }
      if (auto id = parse_u64(trim(std::string_view(line).substr(5)))) {
        out[static_cast<unsigned>(*id)] = it->path().filename().string();
      }
    }
  }
  return out;
}

enum class DaxBus { cxl, nvdimm, other };

// Memory onlined from a dax device (the kmem driver) names its node in target_node; where the
// device sits says what is behind it: a CXL region (ACPI0017 root, decoder, region) or an
// NVDIMM bus (ndbus).
std::map<unsigned, std::pair<DaxBus, std::string>> dax_nodes(const fs::path& sysfs) {
  std::map<unsigned, std::pair<DaxBus, std::string>> out;
  std::error_code ec;
  for (fs::directory_iterator it(sysfs / "bus/dax/devices", ec), end; !ec && it != end; it.increment(ec)) {
    auto target = read_small_file(it->path() / "target_node");
    auto id = target ? parse_u64(trim(*target)) : std::nullopt;
    if (!id) {
      continue;
    }
    std::error_code link_ec;
    const fs::path where = fs::read_symlink(it->path(), link_ec);
    const std::string path = link_ec ? std::string() : where.string();
    DaxBus bus = DaxBus::other;
    bool region = false;
    bool decoder = false;
    for (const auto& part : where) {
      const std::string p = part.string();
      region = region || p.rfind("region", 0) == 0;
      decoder = decoder || p.rfind("decoder", 0) == 0;
      if (p.rfind("ndbus", 0) == 0) {
        bus = DaxBus::nvdimm;
      }
    }
    if (bus == DaxBus::other && (path.find("ACPI0017") != std::string::npos || (region && decoder))) {
      bus = DaxBus::cxl;
    }
    out[static_cast<unsigned>(*id)] = {bus, it->path().filename().string()};
  }
  return out;
}

}  // namespace

std::map<unsigned, MemoryKindOf> classify_memory(const KernelNodes& nodes, const HostPaths& paths,
                                                 const std::map<unsigned, std::string>& hwloc_subtypes) {
  const auto gpus = nvidia_gpu_nodes(paths.procfs);
  const auto dax = dax_nodes(paths.sysfs);
  // DRAM's bandwidth as HMAT reports it for nodes with CPUs: hwloc calls memory HBM when it
  // reads at more than twice that, and so do we.
  std::uint64_t dram_bandwidth = 0;
  for (const auto& n : nodes.nodes) {
    if (!n.cpus.empty() && n.access) {
      dram_bandwidth = std::max(dram_bandwidth, n.access->read_bandwidth_mbps);
    }
  }

  std::map<unsigned, MemoryKindOf> out;
  for (const auto& n : nodes.nodes) {
    const auto sub = hwloc_subtypes.find(n.id);
    const std::string subtype = sub == hwloc_subtypes.end() ? std::string() : sub->second;
    const auto gpu = gpus.find(n.id);
    const auto d = dax.find(n.id);
    const DaxBus bus = d == dax.end() ? DaxBus::other : d->second.first;
    MemoryKindOf k;
    if (n.memory_bytes == 0) {
      k = {MemoryKind::none, "meminfo MemTotal is 0"};
    } else if (gpu != gpus.end()) {
      k = {MemoryKind::gpu, "the NVIDIA driver onlined GPU " + gpu->second + "'s memory here (numa_status)"};
    } else if (subtype == "GPUMemory") {
      k = {MemoryKind::gpu, "hwloc: GPUMemory"};
    } else if (bus == DaxBus::cxl) {
      k = {MemoryKind::cxl, "dax device " + d->second.second + " of a CXL region targets this node"};
    } else if (bus == DaxBus::nvdimm) {
      k = {MemoryKind::nvm, "dax device " + d->second.second + " on an NVDIMM bus targets this node"};
    } else if (subtype == "NVM") {
      k = {MemoryKind::nvm, "hwloc: NVM"};
    } else if (subtype == "HBM" || subtype == "MCDRAM") {
      k = {MemoryKind::hbm, "hwloc: " + subtype};
    } else if (n.cpus.empty() && n.access && dram_bandwidth > 0 && n.access->read_bandwidth_mbps > 2 * dram_bandwidth) {
      k = {MemoryKind::hbm, "HMAT read bandwidth " + std::to_string(n.access->read_bandwidth_mbps) +
                                " MB/s, more than twice DRAM's " + std::to_string(dram_bandwidth) + " MB/s"};
    } else if (!n.cpus.empty()) {
      k = {MemoryKind::dram, "the node has CPUs"};
    } else if (subtype == "DRAM") {
      k = {MemoryKind::dram, "hwloc: DRAM"};
    } else {
      k = {MemoryKind::unknown, subtype.empty() ? "memory without CPUs that nothing identifies"
                                                : "hwloc: " + subtype + ", which names no kind"};
    }
    out[n.id] = std::move(k);
  }
  return out;
}

}  // namespace nodepack::numa
