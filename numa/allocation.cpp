#include "numa/allocation.hpp"

#include "numa/collector.hpp"

#include <algorithm>
#include <cctype>
#include <set>

namespace nodepack::numa {

std::string_view to_string(ValueSource s) {
  switch (s) {
    case ValueSource::podresources:
      return "podresources";
    case ValueSource::checkpoint:
      return "checkpoint";
    case ValueSource::capacity:
      return "capacity";
    case ValueSource::none:
      return "none";
  }
  return "none";
}

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// Bytes per node of one memory type from the blocks' groups. A block on one node is that node's;
// a block over several is filled node by node in id order up to what each has left, as the
// memory manager fills such a request. That split is an estimate (the kubelet's depended on what
// was free then): `spread` names the groups it was made for.
std::map<unsigned, std::uint64_t> split_groups(const std::map<std::vector<int>, std::uint64_t>& groups,
                                               const std::map<unsigned, std::uint64_t>& allocatable,
                                               std::vector<std::string>& spread) {
  std::map<unsigned, std::uint64_t> out;
  for (const auto& [group, bytes] : groups) {
    if (group.size() == 1 && group[0] >= 0) {
      out[static_cast<unsigned>(group[0])] += bytes;
    }
  }
  for (const auto& [group, bytes] : groups) {
    if (group.size() < 2) {
      continue;
    }
    std::string name;
    std::uint64_t left = bytes;
    for (std::size_t i = 0; i < group.size(); ++i) {
      if (group[i] < 0) {
        continue;
      }
      const auto id = static_cast<unsigned>(group[i]);
      name += (name.empty() ? "" : "+") + numanode_label(id);
      auto cap = allocatable.find(id);
      const std::uint64_t room = cap == allocatable.end() || cap->second < out[id] ? 0 : cap->second - out[id];
      const std::uint64_t take = i + 1 == group.size() ? left : std::min(left, room);
      out[id] += take;
      left -= take;
    }
    spread.push_back(name);
  }
  return out;
}

// Per node and type ("memory", "hugepages-2Mi"), what pod-resources says is allocatable.
std::map<std::string, std::map<unsigned, std::uint64_t>> allocatable_memory(const AllocatableResources& a) {
  std::map<std::string, std::map<unsigned, std::uint64_t>> out;
  for (const auto& b : a.memory) {
    if (b.numa_affinity.size() == 1 && b.numa_affinity[0] >= 0) {
      out[b.type][static_cast<unsigned>(b.numa_affinity[0])] += b.size;
    }
  }
  return out;
}

std::map<std::string, std::map<std::int64_t, std::uint64_t>> device_counts(const std::vector<DeviceGroup>& groups) {
  std::map<std::string, std::map<std::int64_t, std::uint64_t>> out;
  for (const auto& g : groups) {
    if (g.numa_nodes.empty()) {
      out[g.resource][no_numa_affinity] += g.ids.size();
    }
    for (auto numa : g.numa_nodes) {
      out[g.resource][numa] += g.ids.size();
    }
  }
  return out;
}

}  // namespace

AllocationModel build_allocation(const Topology& topology, const AllocationInputs& in, const cgroup::PodLookup* pods,
                                 const CpuSet& reserved_cpus) {
  AllocationModel model;
  const PodResourcesAnswer* answer = in.podresources;
  const AllocatableResources* allocatable = answer != nullptr && answer->allocatable ? &*answer->allocatable : nullptr;
  if (in.cpu != nullptr && !in.cpu->policy_name.empty()) {
    model.cpu_policy = in.cpu->policy_name;
  } else if (allocatable != nullptr && !allocatable->cpus.empty()) {
    model.cpu_policy = "static";  // only the static policy has allocatable CPUs to list
  }
  if (in.memory != nullptr && !in.memory->policy_name.empty()) {
    model.memory_policy = in.memory->policy_name;
  } else if (allocatable != nullptr && !allocatable->memory.empty()) {
    model.memory_policy = "Static";
  }
  const bool static_cpu = iequals(model.cpu_policy, "static");
  const bool static_memory = iequals(model.memory_policy, "static");
  const CpuManagerState* cpu = in.cpu != nullptr && iequals(in.cpu->policy_name, "static") ? in.cpu : nullptr;
  const MemoryManagerState* memory =
      in.memory != nullptr && iequals(in.memory->policy_name, "static") ? in.memory : nullptr;

  // Placements: pod-resources when it answered, else the checkpoints. Both are built when both
  // are there, to compare them.
  Placements from_files = placements_from_checkpoints(topology, cpu, memory, in.devices);
  Placements placements = answer != nullptr ? placements_from_pod_resources(topology, *answer) : from_files;
  if (answer != nullptr) {
    model.check = compare_tallies(placements.tally, from_files.tally, in.compare);
    model.placements_source = ValueSource::podresources;
  } else {
    model.check.not_compared_because = "pod-resources gave no answer";
    model.placements_source =
        cpu != nullptr || memory != nullptr || in.devices != nullptr ? ValueSource::checkpoint : ValueSource::none;
  }
  const ValueSource files = ValueSource::checkpoint;
  const ValueSource api = ValueSource::podresources;
  model.sources[{"cpu", "allocation"}] = answer != nullptr ? api : (cpu != nullptr ? files : ValueSource::none);
  model.sources[{"devices", "allocation"}] =
      answer != nullptr ? api : (in.devices != nullptr ? files : ValueSource::none);
  model.sources[{"cpu", "allocatable"}] =
      allocatable != nullptr && !allocatable->cpus.empty() ? api : ValueSource::capacity;
  model.sources[{"devices", "allocatable"}] = allocatable != nullptr ? api : ValueSource::none;
  const auto api_memory =
      allocatable != nullptr ? allocatable_memory(*allocatable) : decltype(allocatable_memory({})){};
  for (const std::string kind : {"memory", "hugepages"}) {
    bool from_api = false;
    for (const auto& [type, per_node] : api_memory) {
      from_api = from_api || (kind == "memory" ? type == "memory" : type.rfind("hugepages-", 0) == 0);
    }
    model.sources[{kind, "allocatable"}] = from_api ? api : (memory != nullptr ? files : ValueSource::capacity);
    // The memory manager's machineState has the exact per-node split; pod-resources lists
    // blocks, whose split over several nodes it does not say.
    model.sources[{kind, "allocation"}] =
        memory != nullptr ? files : (answer != nullptr && static_memory ? api : ValueSource::none);
  }
  const auto api_devices = allocatable != nullptr ? device_counts(allocatable->devices) : decltype(device_counts({})){};

  // Per NUMA node.
  for (const auto& n : topology.nodes) {
    NodeAllocation a;
    a.id = n.id;
    a.capacity_cpus = n.cpus;
    if (model.sources[{"cpu", "allocatable"}] == api) {
      a.allocatable_cpus = allocatable->cpus.intersected(n.cpus);
      a.reserved_cpus = n.cpus.without(a.allocatable_cpus);
    } else {
      a.reserved_cpus = reserved_cpus.intersected(n.cpus);
      a.allocatable_cpus = n.cpus.without(a.reserved_cpus);
    }
    a.exclusive_cpus = placements.exclusive.intersected(n.cpus);
    a.shared_pool = n.cpus.without(a.exclusive_cpus);
    if (cpu != nullptr && static_cpu) {
      const CpuSet kubelet_default = cpu->default_cpu_set.intersected(n.cpus);
      if (kubelet_default != n.cpus.without(from_files.exclusive.intersected(n.cpus))) {
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
    if (memory != nullptr) {
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
    for (const auto& [type, per_node] : api_memory) {
      auto v = per_node.find(n.id);
      const std::uint64_t bytes = v == per_node.end() ? 0 : v->second;
      (type == "memory" ? a.memory : a.hugepages[type]).allocatable = bytes;
    }
    for (const auto& [resource, by_numa] : placements.tally.devices) {
      if (auto c = by_numa.find(n.id); c != by_numa.end()) {
        a.devices_allocated[resource] = c->second;
      }
    }
    for (const auto& [resource, by_numa] : api_devices) {
      auto c = by_numa.find(n.id);
      a.devices_allocatable[resource] = c == by_numa.end() ? 0 : c->second;
    }
    model.nodes.push_back(std::move(a));
  }

  // Memory handed out per node, from pod-resources' blocks when no memory checkpoint says it.
  if (memory == nullptr && answer != nullptr && static_memory) {
    for (const auto& [type, groups] : placements.tally.memory) {
      std::map<unsigned, std::uint64_t> room;
      for (const auto& a : model.nodes) {
        room[a.id] = type == "memory" ? a.memory.allocatable
                                      : (a.hugepages.count(type) != 0 ? a.hugepages.at(type).allocatable : 0);
      }
      std::vector<std::string> spread;
      const auto per_node = split_groups(groups, room, spread);
      for (auto& a : model.nodes) {
        auto v = per_node.find(a.id);
        const std::uint64_t bytes = v == per_node.end() ? 0 : v->second;
        (type == "memory" ? a.memory : a.hugepages[type]).allocation = bytes;
      }
      for (const auto& group : spread) {
        for (auto& a : model.nodes) {
          if (group.find(numanode_label(a.id)) != std::string::npos) {
            a.notes.push_back(type + " of a block over " + group +
                              " is split in the memory manager's fill order: an estimate (its checkpoint has the "
                              "exact split)");
          }
        }
      }
    }
  }

  // Every device id the kubelet knows, to tell the PCI devices it schedules from those it does not.
  std::map<std::string, std::set<std::string>> known;
  if (in.devices != nullptr) {
    for (const auto& [resource, ids] : in.devices->registered_devices) {
      model.devices_registered[resource] = ids.size();
      known[resource].insert(ids.begin(), ids.end());
    }
  }
  if (allocatable != nullptr) {
    for (const auto& g : allocatable->devices) {
      known[g.resource].insert(g.ids.begin(), g.ids.end());
    }
  }
  for (const auto& c : placements.containers) {
    for (const auto& d : c.devices) {
      known[d.resource].insert(d.ids.begin(), d.ids.end());
    }
  }
  model.pci = link_pci_devices(topology, known);
  // Without pod-resources' allocatable devices, the checkpoint's registered devices count per
  // NUMA node where they are PCI devices whose node sysfs names.
  if (allocatable == nullptr && in.devices != nullptr) {
    const auto per_numa = ids_per_numa(model.pci, in.devices->registered_devices);
    for (auto& a : model.nodes) {
      for (const auto& [resource, ids] : in.devices->registered_devices) {
        std::uint64_t count = 0;
        if (auto r = per_numa.find(resource); r != per_numa.end()) {
          if (auto c = r->second.find(a.id); c != r->second.end()) {
            count = c->second;
          }
        }
        a.devices_allocatable[resource] = count;
      }
    }
    for (const auto& [resource, ids] : in.devices->registered_devices) {
      std::uint64_t placed = 0;
      if (auto r = per_numa.find(resource); r != per_numa.end()) {
        for (const auto& [numa, count] : r->second) {
          placed += count;
        }
      }
      model.allocatable_without_affinity[resource] = ids.size() - placed;
    }
    if (!in.devices->registered_devices.empty()) {
      model.sources[{"devices", "allocatable"}] = files;
    }
  } else {
    for (const auto& [resource, by_numa] : api_devices) {
      if (auto c = by_numa.find(no_numa_affinity); c != by_numa.end()) {
        model.allocatable_without_affinity[resource] = c->second;
      } else {
        model.allocatable_without_affinity[resource] = 0;
      }
    }
  }
  model.orphaned_containers = resolve_placements(placements, topology, pods);
  model.containers = std::move(placements.containers);
  model.pods = answer != nullptr ? std::move(from_files.pods) : std::move(placements.pods);
  if (answer != nullptr) {
    // Pod-level assignments are the checkpoint's alone; name them too.
    Placements pod_level;
    pod_level.pods = std::move(model.pods);
    resolve_placements(pod_level, topology, pods);
    model.pods = std::move(pod_level.pods);
  }
  model.devices_without_affinity = std::move(placements.devices_without_affinity);
  return model;
}

}  // namespace nodepack::numa
