#include "numa/placements.hpp"

#include <algorithm>

namespace nodepack::numa {

namespace {

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

void tally_cpus(NumaTally& t, const Topology& topo, const CpuSet& cpus) {
  for (const auto& n : topo.nodes) {
    const CpuSet on = cpus.intersected(n.cpus);
    if (!on.empty()) {
      t.exclusive_cpus[n.id] = t.exclusive_cpus[n.id].united(on);
    }
  }
}

void tally_memory(NumaTally& t, const std::vector<MemoryBlock>& blocks) {
  for (const auto& b : blocks) {
    std::vector<int> group = b.numa_affinity;
    std::sort(group.begin(), group.end());
    group.erase(std::unique(group.begin(), group.end()), group.end());
    t.memory[b.type][group] += b.size;
  }
}

// Devices count once under each NUMA node they are reported on, as the kubelet files them.
void tally_device(Placements& p, const std::string& resource, std::int64_t numa, std::size_t count) {
  p.tally.devices[resource][numa] += count;
  if (numa == no_numa_affinity) {
    p.devices_without_affinity[resource] += count;
  }
}

}  // namespace

Placements placements_from_checkpoints(const Topology& topology, const CpuManagerState* cpu,
                                       const MemoryManagerState* memory, const DeviceCheckpoint* devices) {
  Placements p;
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
  std::vector<CpuSet::Range> container_ranges;
  if (cpu != nullptr) {
    for (const auto& [uid, by_name] : cpu->entries) {
      for (const auto& [name, set] : by_name) {
        container(uid, name).cpus = set;
        claim(set);
        container_ranges.insert(container_ranges.end(), set.ranges().begin(), set.ranges().end());
      }
    }
    for (const auto& [id, set] : cpu->container_id_entries) {
      container("", id).cpus = set;
      claim(set);
      container_ranges.insert(container_ranges.end(), set.ranges().begin(), set.ranges().end());
    }
    for (const auto& [uid, set] : cpu->pod_entries) {
      auto& pod = pod_level[uid];
      pod.pod_uid = uid;
      pod.cpus = set;
      claim(set);
    }
  }
  p.exclusive = CpuSet::from_ranges(std::move(exclusive_ranges));
  tally_cpus(p.tally, topology, CpuSet::from_ranges(std::move(container_ranges)));
  if (memory != nullptr) {
    for (const auto& [uid, by_name] : memory->entries) {
      for (const auto& [name, blocks] : by_name) {
        auto& c = container(uid, name);
        c.memory.insert(c.memory.end(), blocks.begin(), blocks.end());
        tally_memory(p.tally, blocks);
      }
    }
    for (const auto& [uid, blocks] : memory->pod_entries) {
      auto& pod = pod_level[uid];
      pod.pod_uid = uid;
      pod.memory = blocks;
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
          tally_device(p, e.resource_name, numa, ids.size());
        }
      }
      c.devices.push_back(std::move(d));
    }
  }
  for (auto& [key, c] : containers) {
    p.containers.push_back(std::move(c));
  }
  for (auto& [uid, pod] : pod_level) {
    p.pods.push_back(std::move(pod));
  }
  return p;
}

Placements placements_from_pod_resources(const Topology& topology, const PodResourcesAnswer& answer) {
  Placements p;
  std::vector<CpuSet::Range> ranges;
  std::map<std::tuple<std::string, std::string, std::string>, ContainerPlacement> containers;
  for (const auto& r : answer.containers) {
    // pod-resources lists every container of every pod; only those holding something matter.
    if (r.cpus.empty() && r.memory.empty() && r.devices.empty()) {
      continue;
    }
    auto& c = containers[{r.pod_namespace, r.pod_name, r.container}];
    c.container = r.container;
    c.pod = PodName{r.pod_namespace, r.pod_name, std::nullopt};
    c.cpus = c.cpus.united(r.cpus);
    ranges.insert(ranges.end(), r.cpus.ranges().begin(), r.cpus.ranges().end());
    c.memory.insert(c.memory.end(), r.memory.begin(), r.memory.end());
    tally_memory(p.tally, r.memory);
    for (const auto& g : r.devices) {
      DevicePlacement d;
      d.resource = g.resource;
      d.ids = g.ids;
      if (g.numa_nodes.empty()) {
        d.numa_nodes.insert(no_numa_affinity);
        tally_device(p, g.resource, no_numa_affinity, g.ids.size());
      }
      for (auto numa : g.numa_nodes) {
        d.numa_nodes.insert(numa);
        tally_device(p, g.resource, numa, g.ids.size());
      }
      // The kubelet answers one entry per device and NUMA node: one placement per resource.
      auto same = std::find_if(c.devices.begin(), c.devices.end(),
                               [&](const DevicePlacement& x) { return x.resource == d.resource; });
      if (same == c.devices.end()) {
        c.devices.push_back(std::move(d));
      } else {
        for (auto& id : d.ids) {
          if (std::find(same->ids.begin(), same->ids.end(), id) == same->ids.end()) {
            same->ids.push_back(std::move(id));
          }
        }
        same->numa_nodes.insert(d.numa_nodes.begin(), d.numa_nodes.end());
      }
    }
  }
  p.exclusive = CpuSet::from_ranges(std::move(ranges));
  tally_cpus(p.tally, topology, p.exclusive);
  for (auto& [key, c] : containers) {
    p.containers.push_back(std::move(c));
  }
  return p;
}

std::size_t resolve_placements(Placements& p, const Topology& topology, const cgroup::PodLookup* pods) {
  auto resolve = [&](const std::string& uid, std::optional<PodName>& pod, bool& orphaned) {
    if (pods == nullptr || (uid.empty() && pod)) {
      return;  // no directory, or named by pod-resources already
    }
    pod.reset();
    if (auto info = uid.empty() ? std::nullopt : pods->by_uid(uid)) {
      pod = PodName{std::move(info->namespace_name), std::move(info->name), info->guaranteed};
    }
    orphaned = !pod.has_value();
  };
  std::size_t orphans = 0;
  for (auto& c : p.containers) {
    resolve(c.pod_uid, c.pod, c.orphaned);
    c.numa_nodes = nodes_of(topology, c.cpus);
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
    orphans += c.orphaned ? 1 : 0;
  }
  for (auto& pod : p.pods) {
    resolve(pod.pod_uid, pod.pod, pod.orphaned);
    pod.numa_nodes = nodes_of(topology, pod.cpus);
    for (auto id : nodes_of(pod.memory)) {
      pod.numa_nodes.insert(id);
    }
  }
  return orphans;
}

}  // namespace nodepack::numa
