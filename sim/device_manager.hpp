#pragma once

// The kubelet's device manager for one simulated node whose machine has GPUs, as NVIDIA's device
// plugin registers them (`nvidia.com/gpu`, the GPU UUIDs, each with its PCI device's NUMA node):
// a container asking for GPUs gets them on the NUMA node(s) of its exclusive CPUs when they have
// enough free (single-numa-node alignment), else on the lowest node that has, else the lowest
// free ids; freed when the pod goes. Kept in
// `<kubelet-dir>/device-plugins/kubelet_internal_checkpoint` (the v2 layout, device ids per NUMA
// node) with the checksum the kubelet computes.

#include "common/result.hpp"
#include "numa/checkpoint.hpp"
#include "sim/machine.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace nodepack::sim {

inline constexpr const char* gpu_resource = "nvidia.com/gpu";

class SimulatedDeviceManager {
 public:
  explicit SimulatedDeviceManager(std::vector<MachineGpu> gpus);

  // Gives the container `count` GPUs; false (and nothing given) when fewer are free.
  bool allocate(const std::string& pod, const std::string& container, unsigned count,
                const std::vector<int>& preferred_numa);
  // Frees the pod's GPUs; false when it held none.
  bool release(const std::string& pod);

  const std::vector<numa::PodDevicesEntry>& entries() const { return entries_; }
  std::vector<std::string> free_ids() const;

  Result<void> write(const std::filesystem::path& kubelet_dir) const;

 private:
  std::vector<MachineGpu> gpus_;
  std::vector<numa::PodDevicesEntry> entries_;  // in allocation order, as the kubelet lists them
};

}  // namespace nodepack::sim
