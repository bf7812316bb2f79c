#include "numa/allocation.hpp"

#include <algorithm>
#include <cctype>

namespace nodepack::numa {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::set<std::int64_t> nodes_of(const Topology& topo, const CpuSet& cpus) {
  std::set<std::int64_t> out;
  for (const auto& n : topo.nodes) {
    if (!n.cpus.intersected(cpus).empty()) {
      out.insert(n.id);
    }
  }
  return out;
}

std::set<std::int64_t> nodes_of(const std::vector<MemoryBlock>& blocks) {
  std::set<std::int64_t> out;
  for (const auto& b : blocks) {
    out.insert(b.numa_affinity.begin(), b.numa_affinity.end());
  }
  return out;
}

}  // namespace

AllocationModel build_allocation(const Topology& topology, const CpuManagerState* cpu, const MemoryManagerState* memory,
                                 const DeviceCheckpoint* devices, const cgroup::PodLookup* pods,
                                 const CpuSet& reserved_cpus) {
  AllocationModel model;
  if (cpu != nullptr && !cpu->policy_name.empty()) {
    model.cpu_policy = cpu->policy_name;
  }
  if (memory != nullptr && !memory->policy_name.empty()) {
    model.memory_policy = memory->policy_name;
  }
  const bool static_cpu = iequals(model.cpu_policy, "static");
  const bool static_memory = iequals(model.memory_policy, "static");

  // Containers, keyed by (pod UID, container name).
  std::map<std::pair<std::string, std::string>, ContainerPlacement> containers;
  auto container = [&](const std::string& uid, const std::string& name) -> ContainerPlacement& {
    auto& c = containers[{uid, name}];
    c.pod_uid = uid;
    c.container = name;
    return c;
  };
  std::map<std::string, PodPlacement> pod_level;

  // Every entry's ranges, merged once at the end: uniting entry by entry would cost entries ×
  // ranges, and a checkpoint may hold many entries.
  std::vector<CpuSet::Range> exclusive_ranges;
  auto claim = [&](const CpuSet& set) {
    exclusive_ranges.insert(exclusive_ranges.end(), set.ranges().begin(), set.ranges().end());
  };
  if (cpu != nullptr && static_cpu) {
    for (const auto& [uid, by_name] : cpu->entries) {
      for (const auto& [name, set] : by_name) {
        container(uid, name).cpus = set;
        claim(set);
      }
    }
    for (const auto& [id, set] : cpu->container_id_entries) {
      container("", id).cpus = set;
      claim(set);
    }
    for (const auto& [uid, set] : cpu->pod_entries) {
      auto& p = pod_level[uid];
      p.pod_uid = uid;
      p.cpus = set;
      claim(set);
    }
  }
  const CpuSet exclusive = CpuSet::from_ranges(std::move(exclusive_ranges));
  if (memory != nullptr && static_memory) {
    for (const auto& [uid, by_name] : memory->entries) {
      for (const auto& [name, blocks] : by_name) {
        auto& c = container(uid, name);
        c.memory.insert(c.memory.end(), blocks.begin(), blocks.end());
      }
    }
    for (const auto& [uid, blocks] : memory->pod_entries) {
      auto& p = pod_level[uid];
      p.pod_uid = uid;
      p.memory = blocks;
    }
  }
  if (devices != nullptr) {
    for (const auto& e : devices->entries) {
      auto& c = container(e.pod_uid, e.container_name);
      DevicePlacement d;
      d.resource = e.resource_name;
      for (const auto& [numa, ids] : e.device_ids) {
        d.ids.insert(d.ids.end(), ids.begin(), ids.end());
        if (!ids.empty()) {
          d.numa_nodes.insert(numa);
        }
        if (numa == no_numa_affinity) {
          model.devices_without_affinity[e.resource_name] += ids.size();
        }
      }
      c.devices.push_back(std::move(d));
    }
    for (const auto& [resource, ids] : devices->registered_devices) {
      model.devices_registered[resource] = ids.size();
    }
  }

  // Per NUMA node.
  for (const auto& n : topology.nodes) {
    NodeAllocation a;
    a.id = n.id;
    a.capacity_cpus = n.cpus;
    a.reserved_cpus = reserved_cpus.intersected(n.cpus);
    a.allocatable_cpus = n.cpus.without(a.reserved_cpus);
    a.exclusive_cpus = exclusive.intersected(n.cpus);
    a.shared_pool = n.cpus.without(a.exclusive_cpus);
    if (cpu != nullptr && static_cpu) {
      const CpuSet kubelet_default = cpu->default_cpu_set.intersected(n.cpus);
      if (kubelet_default != a.shared_pool) {
        a.notes.push_back("kubelet defaultCpuSet on this node is " + kubelet_default.to_string() +
                          ", capacity minus exclusive is " + a.shared_pool.to_string());
      }
    }
    a.memory.capacity = n.memory_bytes;
    a.memory.allocatable = n.memory_bytes;
    for (const auto& h : n.hugepages) {
      Amounts am;
      am.capacity = h.page_size_bytes * h.total_pages;
      am.allocatable = am.capacity;
      am.free = h.page_size_bytes * h.free_pages;
      a.hugepages[hugepage_resource_name(h.page_size_bytes)] = am;
    }
    if (memory != nullptr && static_memory) {
      auto it = memory->machine_state.find(static_cast<int>(n.id));
      if (it != memory->machine_state.end()) {
        for (const auto& [resource, table] : it->second.memory_map) {
          if (resource == "memory") {
            a.memory.allocatable = table.allocatable;
            a.memory.allocation = table.reserved;
          } else if (resource.rfind("hugepages-", 0) == 0) {
            auto& am = a.hugepages[resource];
            am.allocatable = table.allocatable;
            am.allocation = table.reserved;
          }
        }
      } else {
        a.notes.push_back("memory manager state has no machineState entry for this node");
      }
    }
    model.nodes.push_back(std::move(a));
  }
  if (devices != nullptr) {
    for (const auto& e : devices->entries) {
      for (const auto& [numa, ids] : e.device_ids) {
        for (auto& a : model.nodes) {
          if (numa >= 0 && static_cast<std::int64_t>(a.id) == numa) {
            a.devices_allocated[e.resource_name] += ids.size();
          }
        }
      }
    }
  }

  // Who the entries belong to, and whether each container landed on one NUMA node.
  auto resolve = [&](const std::string& uid, std::optional<PodName>& pod, bool& orphaned) {
    if (pods == nullptr) {
      return;
    }
    pod.reset();
    if (auto info = uid.empty() ? std::nullopt : pods->by_uid(uid)) {
      pod = PodName{std::move(info->namespace_name), std::move(info->name), info->guaranteed};
    }
    orphaned = !pod.has_value();
  };
  for (auto& [key, c] : containers) {
    resolve(c.pod_uid, c.pod, c.orphaned);
    for (auto id : nodes_of(topology, c.cpus)) {
      c.numa_nodes.insert(id);
    }
    for (auto id : nodes_of(c.memory)) {
      c.numa_nodes.insert(id);
    }
    for (const auto& d : c.devices) {
      for (auto id : d.numa_nodes) {
        if (id != no_numa_affinity) {  // a device without affinity does not break alignment
          c.numa_nodes.insert(id);
        }
      }
    }
    c.aligned = c.numa_nodes.size() == 1;
    const bool pinned = !c.cpus.empty() || !c.memory.empty();
    c.guaranteed = c.pod && c.pod->guaranteed ? *c.pod->guaranteed : pinned;
    if (c.orphaned) {
      ++model.orphaned_containers;
    }
    model.containers.push_back(std::move(c));
  }
  for (auto& [uid, p] : pod_level) {
    resolve(uid, p.pod, p.orphaned);
    p.numa_nodes = nodes_of(topology, p.cpus);
    for (auto id : nodes_of(p.memory)) {
      p.numa_nodes.insert(id);
    }
    model.pods.push_back(std::move(p));
  }
  return model;
}

}  // namespace nodepack::numa
