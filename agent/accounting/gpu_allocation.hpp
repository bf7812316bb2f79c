#pragma once

// GPUs (and any other device-plugin resource named in --accounting.gpu-resources) allocated to
// each container, from the kubelet's device-manager checkpoint as numa/ parses it.

#include "agent/accounting/request_integrator.hpp"
#include "common/clock.hpp"
#include "numa/checkpoint.hpp"
#include "numa/checkpoint_file.hpp"

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace nodepack::agent::accounting {

using GpuAllocations = std::map<ContainerKey, std::map<std::string, std::int64_t>>;

// Distinct devices per container and resource; a device listed under several NUMA ids counts once.
GpuAllocations gpu_allocations(const numa::DeviceCheckpoint& checkpoint, const std::vector<std::string>& resources);

class GpuAllocationFile {
 public:
  GpuAllocationFile(const std::filesystem::path& kubelet_root, std::vector<std::string> resources, const Clock& clock);

  // Re-reads the checkpoint (cheap when unchanged). A missing file means no devices; a bad read
  // keeps the last good allocation (numa::CheckpointFile's rule).
  GpuAllocations read();
  const numa::FileState& file_state() const { return file_.state(); }

 private:
  std::vector<std::string> resources_;
  numa::CheckpointFile<numa::DeviceCheckpoint> file_;
};

}  // namespace nodepack::agent::accounting
