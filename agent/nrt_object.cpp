#include "agent/nrt_object.hpp"

#include <boost/json.hpp>

#include <algorithm>

namespace nodepack::agent {

namespace json = boost::json;

namespace {

std::string zone_name(unsigned id) { return "node-" + std::to_string(id); }

// A ResourceInfo: quantities are strings, as resource.Quantity serializes.
json::object resource_info(const std::string& name, std::uint64_t capacity, std::uint64_t allocatable,
                           std::uint64_t allocation) {
  const std::uint64_t available = allocatable > allocation ? allocatable - allocation : 0;
  return json::object{{"name", name},
                      {"capacity", std::to_string(capacity)},
                      {"allocatable", std::to_string(allocatable)},
                      {"available", std::to_string(available)}};
}

}  // namespace

std::string nrt_topology_policy(const TopologyManagerConfig& c) {
  const std::string level = c.scope == "pod" ? "PodLevel" : "ContainerLevel";
  if (c.policy == "single-numa-node") {
    return "SingleNUMANode" + level;
  }
  if (c.policy == "restricted") {
    return "Restricted" + level;
  }
  if (c.policy == "best-effort") {
    return "BestEffort" + level;
  }
  return "None";
}

json::object nrt_object(const numa::NumaSnapshot& snap, const TopologyManagerConfig& tm,
                        const std::optional<NodeOwner>& owner) {
  json::object metadata{{"name", snap.node_name},
                        {"labels", json::object{{"app.kubernetes.io/managed-by", "nodepack-agent"}}}};
  if (owner && !owner->uid.empty()) {
    metadata["ownerReferences"] =
        json::array{json::object{{"apiVersion", "v1"}, {"kind", "Node"}, {"name", owner->name}, {"uid", owner->uid}}};
  }
  json::array zones;
  for (const auto& n : snap.model.nodes) {
    json::array resources;
    // Exclusive CPUs outside the allocatable set (none, normally) take nothing from it.
    const std::size_t cpus_taken = n.exclusive_cpus.intersected(n.allocatable_cpus).size();
    resources.push_back(resource_info("cpu", n.capacity_cpus.size(), n.allocatable_cpus.size(), cpus_taken));
    resources.push_back(resource_info("memory", n.memory.capacity, n.memory.allocatable, n.memory.allocation));
    for (const auto& [name, am] : n.hugepages) {
      resources.push_back(resource_info(name, am.capacity, am.allocatable, am.allocation));
    }
    for (const auto& [name, count] : n.devices_allocatable) {
      if (count == 0) {
        continue;  // as NFD's topology-updater: a zone lists the devices it has
      }
      auto used = n.devices_allocated.find(name);
      resources.push_back(resource_info(name, count, count, used == n.devices_allocated.end() ? 0 : used->second));
    }
    json::object zone{{"name", zone_name(n.id)}, {"type", "Node"}, {"resources", std::move(resources)}};
    if (snap.topology) {
      if (const auto* t = snap.topology->find(n.id); t != nullptr && !t->distances.empty()) {
        json::array costs;
        for (const auto& [to, d] : t->distances) {
          costs.push_back(json::object{{"name", zone_name(to)}, {"value", d}});
        }
        zone["costs"] = std::move(costs);
      }
    }
    zones.push_back(std::move(zone));
  }
  return json::object{{"apiVersion", "topology.node.k8s.io/v1alpha2"},
                      {"kind", "NodeResourceTopology"},
                      {"metadata", std::move(metadata)},
                      {"topologyPolicies", json::array{json::value(nrt_topology_policy(tm))}},
                      {"attributes", json::array{json::object{{"name", "topologyManagerPolicy"}, {"value", tm.policy}},
                                                 json::object{{"name", "topologyManagerScope"}, {"value", tm.scope}}}},
                      {"zones", std::move(zones)}};
}

}  // namespace nodepack::agent
