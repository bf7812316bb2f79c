#include "numa/device_links.hpp"

#include <algorithm>
#include <cctype>

namespace nodepack::numa {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// The device a plugin id stands for: "GPU-abc::3" (a shared GPU's replica 3) is GPU-abc.
std::string device_of(const std::string& id) {
  const auto replica = id.find("::");
  return lower(replica == std::string::npos ? id : id.substr(0, replica));
}

}  // namespace

std::vector<PciLink> link_pci_devices(const Topology& topology,
                                      const std::map<std::string, std::set<std::string>>& ids) {
  std::map<std::string, std::string> resource_of;  // device id (lowercase) -> resource
  for (const auto& [resource, set] : ids) {
    for (const auto& id : set) {
      resource_of.emplace(device_of(id), resource);
    }
  }
  auto link = [&](const PciDevice& d, std::optional<unsigned> node) {
    PciLink l{d, node, {}};
    for (const std::string& key : {lower(d.bus_id), lower(d.driver_id)}) {
      if (auto it = resource_of.find(key); !key.empty() && it != resource_of.end()) {
        l.resource = it->second;
      }
    }
    return l;
  };
  std::vector<PciLink> out;
  for (const auto& n : topology.nodes) {
    for (const auto& d : n.pci_devices) {
      out.push_back(link(d, n.id));
    }
  }
  for (const auto& d : topology.pci_without_node) {
    out.push_back(link(d, std::nullopt));
  }
  return out;
}

std::map<std::string, std::map<unsigned, std::uint64_t>> ids_per_numa(
    const std::vector<PciLink>& links, const std::map<std::string, std::vector<std::string>>& ids) {
  std::map<std::string, unsigned> numa_of;  // device id (lowercase) -> NUMA node
  for (const auto& l : links) {
    if (!l.numa_node) {
      continue;
    }
    for (const std::string& key : {lower(l.device.bus_id), lower(l.device.driver_id)}) {
      if (!key.empty()) {
        numa_of.emplace(key, *l.numa_node);
      }
    }
  }
  std::map<std::string, std::map<unsigned, std::uint64_t>> out;
  for (const auto& [resource, list] : ids) {
    for (const auto& id : list) {
      if (auto it = numa_of.find(device_of(id)); it != numa_of.end()) {
        ++out[resource][it->second];
      }
    }
  }
  return out;
}

}  // namespace nodepack::numa
