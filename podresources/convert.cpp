#include "podresources/convert.hpp"

#include <string>

namespace nodepack::podresources {

namespace {

using numa::PodResourcesError;
using numa::PodResourcesFailure;

// NUMA ids are small: Linux's MAX_NUMNODES is at most 1024.
constexpr std::int64_t max_numa_id = 1 << 16;

PodResourcesFailure bad(std::string message) {
  return PodResourcesFailure{PodResourcesError::bad_answer, std::move(message)};
}

numa::PodResourcesResult<numa::CpuSet> cpus_from(const std::vector<std::int64_t>& ids, const std::string& who) {
  std::vector<int> out;
  out.reserve(ids.size());
  for (auto id : ids) {
    if (id < 0 || id >= numa::CpuSet::hard_cpu_limit) {
      return bad(who + " names CPU id " + std::to_string(id) + ", which no machine has");
    }
    out.push_back(static_cast<int>(id));
  }
  return numa::CpuSet(out);
}

// The NUMA nodes of a topology; none (or the kubelet's -1) means no affinity.
numa::PodResourcesResult<std::vector<std::int64_t>> nodes_from(const TopologyInfo& t, const std::string& who) {
  std::vector<std::int64_t> out;
  for (const auto id : t.nodes) {
    if (id == numa::no_numa_affinity) {
      continue;
    }
    if (id < 0 || id >= max_numa_id) {
      return bad(who + " names NUMA node " + std::to_string(id) + ", which no machine has");
    }
    out.push_back(id);
  }
  return out;
}

numa::PodResourcesResult<std::vector<numa::MemoryBlock>> memory_from(const std::vector<ContainerMemory>& memory,
                                                                     const std::string& who) {
  std::vector<numa::MemoryBlock> out;
  for (const auto& m : memory) {
    auto nodes = nodes_from(m.topology, who);
    if (!nodes) {
      return nodes.error();
    }
    if (m.memory_type.empty()) {
      return bad(who + " lists memory without a type");
    }
    numa::MemoryBlock b;
    b.type = m.memory_type;
    b.size = m.size;
    b.numa_affinity.assign(nodes->begin(), nodes->end());
    out.push_back(std::move(b));
  }
  return out;
}

numa::PodResourcesResult<std::vector<numa::DeviceGroup>> devices_from(const std::vector<ContainerDevices>& devices,
                                                                      const std::string& who) {
  std::vector<numa::DeviceGroup> out;
  for (const auto& d : devices) {
    auto nodes = nodes_from(d.topology, who);
    if (!nodes) {
      return nodes.error();
    }
    if (d.resource_name.empty()) {
      return bad(who + " lists devices without a resource name");
    }
    out.push_back(numa::DeviceGroup{d.resource_name, {d.device_ids.begin(), d.device_ids.end()}, *nodes});
  }
  return out;
}

}  // namespace

numa::PodResourcesResult<std::vector<numa::ContainerResources>> containers_from(const ListPodResourcesResponse& r) {
  std::vector<numa::ContainerResources> out;
  for (const auto& pod : r.pod_resources) {
    for (const auto& c : pod.containers) {
      const std::string who = "container " + pod.namespace_ + "/" + pod.name + "/" + c.name;
      numa::ContainerResources cr;
      cr.pod_namespace = pod.namespace_;
      cr.pod_name = pod.name;
      cr.container = c.name;
      auto cpus = cpus_from(c.cpu_ids, who);
      if (!cpus) {
        return cpus.error();
      }
      cr.cpus = std::move(*cpus);
      auto memory = memory_from(c.memory, who);
      if (!memory) {
        return memory.error();
      }
      cr.memory = std::move(*memory);
      auto devices = devices_from(c.devices, who);
      if (!devices) {
        return devices.error();
      }
      cr.devices = std::move(*devices);
      out.push_back(std::move(cr));
    }
  }
  return out;
}

numa::PodResourcesResult<numa::AllocatableResources> allocatable_from(const AllocatableResourcesResponse& r) {
  numa::AllocatableResources out;
  auto cpus = cpus_from(r.cpu_ids, "GetAllocatableResources");
  if (!cpus) {
    return cpus.error();
  }
  out.cpus = std::move(*cpus);
  auto memory = memory_from(r.memory, "GetAllocatableResources");
  if (!memory) {
    return memory.error();
  }
  out.memory = std::move(*memory);
  auto devices = devices_from(r.devices, "GetAllocatableResources");
  if (!devices) {
    return devices.error();
  }
  out.devices = std::move(*devices);
  return out;
}

}  // namespace nodepack::podresources
