#include "agent/accounting/gpu_allocation.hpp"

#include <algorithm>
#include <set>

namespace nodepack::agent::accounting {

GpuAllocations gpu_allocations(const numa::DeviceCheckpoint& checkpoint, const std::vector<std::string>& resources) {
  std::map<ContainerKey, std::map<std::string, std::set<std::string>>> devices;
  for (const auto& entry : checkpoint.entries) {
    if (std::find(resources.begin(), resources.end(), entry.resource_name) == resources.end()) {
      continue;
    }
    auto& ids = devices[ContainerKey{entry.pod_uid, entry.container_name}][entry.resource_name];
    for (const auto& [numa_id, list] : entry.device_ids) {
      ids.insert(list.begin(), list.end());
    }
  }
  GpuAllocations out;
  for (const auto& [key, by_resource] : devices) {
    for (const auto& [resource, ids] : by_resource) {
      if (!ids.empty()) {
        out[key][resource] = static_cast<std::int64_t>(ids.size());
      }
    }
  }
  return out;
}

GpuAllocationFile::GpuAllocationFile(const std::filesystem::path& kubelet_root, std::vector<std::string> resources,
                                     const Clock& clock)
    : resources_(std::move(resources)),
      file_("kubelet_internal_checkpoint", kubelet_root / "device-plugins/kubelet_internal_checkpoint",
            &numa::parse_device_checkpoint, clock) {}

GpuAllocations GpuAllocationFile::read() {
  file_.refresh();
  const numa::DeviceCheckpoint* current = file_.current();
  return current == nullptr ? GpuAllocations{} : gpu_allocations(*current, resources_);
}

}  // namespace nodepack::agent::accounting
