#pragma once

// Which PCI devices a device plugin hands out, and which none does. Device plugins name devices
// by their own ids: the PCI bus id (SR-IOV and most generic plugins) or the GPU UUID (NVIDIA's,
// "GPU-<uuid>", with "::<n>" appended when a GPU is shared). A PCI device no resource names is
// capacity the kubelet does not schedule: kept apart in the metrics.

#include "numa/topology.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace nodepack::numa {

struct PciLink {
  PciDevice device;
  std::optional<unsigned> numa_node;  // nullopt: the device is on no NUMA node
  std::string resource;               // the device-plugin resource naming it; empty when none does
};

// `ids`: resource -> every device id the kubelet knows for it (registered, allocatable, allocated).
std::vector<PciLink> link_pci_devices(const Topology& topology,
                                      const std::map<std::string, std::set<std::string>>& ids);

// Per resource and NUMA node, how many of `ids` (resource -> device ids, as the device checkpoint
// registers them) stand for a PCI device on that node: each replica of a shared GPU counts. Ids
// that match no PCI device, or one on no NUMA node, are not counted.
std::map<std::string, std::map<unsigned, std::uint64_t>> ids_per_numa(
    const std::vector<PciLink>& links, const std::map<std::string, std::vector<std::string>>& ids);

}  // namespace nodepack::numa
