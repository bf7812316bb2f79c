#pragma once

// Which PCI devices a device plugin hands out, and which none does. Device plugins name devices
// by their own ids: the PCI bus id (SR-IOV and most generic plugins) or the GPU UUID (NVIDIA's,
// "GPU-<uuid>", with "::<n>" appended when a GPU is shared). A PCI device no resource names is
// capacity the kubelet does not schedule: kept apart in the metrics.

#include "numa/topology.hpp"

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

}  // namespace nodepack::numa
