#include "numa/topology.hpp"

#include "common/files.hpp"
#include "common/strings.hpp"

#include <algorithm>
#include <charconv>

namespace nodepack::numa {

const NumaNode* Topology::find(unsigned id) const {
  for (const auto& n : nodes) {
    if (n.id == id) {
      return &n;
    }
  }
  return nullptr;
}

namespace {

// The kernel's word on a PCI device's node (what device plugins report too); -1 when none.
int kernel_pci_node(const HostPaths& paths, const std::string& bus_id) {
  auto text = read_small_file(paths.sysfs / "bus/pci/devices" / bus_id / "numa_node");
  if (!text) {
    return -1;
  }
  const std::string_view v = trim(*text);
  int node = -1;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), node);
  return ec == std::errc() && ptr == v.data() + v.size() ? node : -1;
}

// "GPU UUID:  GPU-..." from the NVIDIA driver's information file of the device, if any.
std::string nvidia_uuid(const HostPaths& paths, const std::string& bus_id) {
  auto text = read_small_file(paths.procfs / "driver/nvidia/gpus" / bus_id / "information");
  if (!text) {
    return {};
  }
  constexpr std::string_view key = "GPU UUID:";
  const auto at = text->find(key);
  if (at == std::string::npos) {
    return {};
  }
  const auto end = text->find('\n', at);
  return std::string(trim(std::string_view(*text).substr(
      at + key.size(), end == std::string::npos ? std::string::npos : end - at - key.size())));
}

std::vector<Core> cores_of(const CpuSet& cpus, const HwlocFacts& hwloc) {
  std::vector<Core> cores;
  for (int id : cpus.ids()) {
    auto place = hwloc.cpus.find(id);
    if (place == hwloc.cpus.end()) {
      continue;  // a CPU hwloc has no core for: counted as a CPU, not as a core
    }
    auto it = std::find_if(cores.begin(), cores.end(),
                           [&](const Core& c) { return c.logical_index == place->second.core_logical_index; });
    if (it == cores.end()) {
      cores.push_back(
          Core{place->second.core_logical_index, place->second.core_os_index, place->second.package, CpuSet()});
      it = std::prev(cores.end());
    }
    it->cpus = it->cpus.united(CpuSet{id});
  }
  std::sort(cores.begin(), cores.end(), [](const Core& a, const Core& b) { return a.logical_index < b.logical_index; });
  return cores;
}

}  // namespace

Topology join_topology(const KernelNodes& kernel, const Result<HwlocFacts>& hwloc, const HostPaths& paths) {
  Topology out;
  const bool this_machine = paths.host_root.empty() || std::filesystem::path(paths.host_root).lexically_normal() == "/";
  out.source = this_machine ? "host" : paths.host_root.string();
  out.online_cpus = kernel.online_cpus;
  out.offline_cpus = kernel.offline_cpus;
  out.memory_total_bytes = kernel.memory_total_bytes;
  out.numa_in_sysfs = kernel.numa_in_sysfs;
  out.problems = kernel.problems;
  static const HwlocFacts no_facts;
  const HwlocFacts& facts = hwloc ? *hwloc : no_facts;
  if (!hwloc) {
    out.hwloc_error = hwloc.error().message;
  } else {
    out.disallowed_cpus = out.online_cpus.without(facts.allowed_cpus);
  }
  const auto kinds = classify_memory(kernel, paths, facts.subtypes);

  CpuSet claimed;
  for (const auto& k : kernel.nodes) {
    NumaNode n;
    n.id = k.id;
    n.cpus = k.cpus;
    n.offline_cpus = k.offline_cpus;
    n.memory_bytes = k.memory_bytes;
    n.hugepages = k.hugepages;
    n.access = k.access;
    n.cores = cores_of(n.cpus, facts);
    if (auto sub = facts.subtypes.find(k.id); sub != facts.subtypes.end()) {
      n.hwloc_subtype = sub->second;
    }
    if (auto kind = kinds.find(k.id); kind != kinds.end()) {
      n.memory_kind = kind->second.kind;
      n.memory_kind_because = kind->second.because;
    }
    for (std::size_t i = 0; i < k.distances.size() && i < kernel.nodes.size(); ++i) {
      n.distances.emplace_back(kernel.nodes[i].id, k.distances[i]);
    }
    claimed = claimed.united(n.cpus);
    out.nodes.push_back(std::move(n));
  }
  out.cpus_without_node = out.online_cpus.without(claimed);

  for (const auto& p : facts.pci) {
    PciDevice device = p.device;
    device.driver_id = nvidia_uuid(paths, device.bus_id);
    int node = kernel_pci_node(paths, p.device.bus_id);
    if ((node < 0 || out.find(static_cast<unsigned>(node)) == nullptr) && p.locality_node) {
      node = static_cast<int>(*p.locality_node);
    }
    NumaNode* target = nullptr;
    for (auto& n : out.nodes) {
      if (node >= 0 && n.id == static_cast<unsigned>(node)) {
        target = &n;
      }
    }
    (target != nullptr ? target->pci_devices : out.pci_without_node).push_back(std::move(device));
  }
  return out;
}

Result<Topology> load_topology(const HostPaths& paths) {
  auto kernel = read_kernel_nodes(paths);
  if (!kernel) {
    return kernel.error();
  }
  return join_topology(*kernel, discover_hwloc(paths), paths);
}

}  // namespace nodepack::numa
