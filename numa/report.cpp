#include "numa/report.hpp"

#include "numa/collector.hpp"
#include "numa/invariants.hpp"

#include <boost/json.hpp>

#include <chrono>
#include <ctime>

namespace nodepack::numa {

namespace json = boost::json;

namespace {

std::string rfc3339(std::chrono::system_clock::time_point tp) {
  const std::time_t t = std::chrono::system_clock::to_time_t(tp);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

template <class Range>
json::array int_array(const Range& r) {
  json::array a;
  for (auto v : r) {
    a.push_back(static_cast<std::int64_t>(v));
  }
  return a;
}

json::object amounts_json(const Amounts& a) {
  json::object o{{"capacity", a.capacity}, {"allocatable", a.allocatable}, {"allocation", a.allocation}};
  if (a.free) {
    o["free"] = *a.free;
  }
  return o;
}

json::value pod_json(const std::optional<PodName>& pod, bool orphaned) {
  if (!pod) {
    return orphaned ? json::value("orphaned") : json::value(nullptr);
  }
  json::object o{{"namespace", pod->namespace_name}, {"name", pod->name}};
  o["guaranteed"] = pod->guaranteed ? json::value(*pod->guaranteed) : json::value(nullptr);
  return o;
}

json::array blocks_json(const std::vector<MemoryBlock>& blocks) {
  json::array a;
  for (const auto& b : blocks) {
    a.push_back(json::object{{"type", b.type}, {"size", b.size}, {"numa_affinity", int_array(b.numa_affinity)}});
  }
  return a;
}

json::object file_json(const FileState& f) {
  json::object o{{"name", f.name},
                 {"path", f.path.string()},
                 {"status", std::string(to_string(f.status))},
                 {"healthy", f.healthy()},
                 {"reason", f.reason},
                 {"detail", f.detail},
                 {"layout", f.layout},
                 {"checksum", std::string(to_string(f.checksum))},
                 {"serving_last_good", f.serving_last_good}};
  o["last_read"] = f.last_read ? json::value(rfc3339(*f.last_read)) : json::value(nullptr);
  o["last_good"] = f.last_good ? json::value(rfc3339(*f.last_good)) : json::value(nullptr);
  json::object errors;
  for (const auto& [reason, count] : f.errors_total) {
    errors[reason] = count;
  }
  o["errors_total"] = std::move(errors);
  return o;
}

json::object podresources_json(const PodResourcesState& p) {
  json::object o{{"enabled", p.enabled},
                 {"socket", p.socket},
                 {"status", p.status},
                 {"reason", p.reason},
                 {"detail", p.detail},
                 {"attempts_total", p.attempts_total},
                 {"allocatable_served", p.allocatable_served}};
  o["last_attempt"] = p.last_attempt ? json::value(rfc3339(*p.last_attempt)) : json::value(nullptr);
  o["last_success"] = p.last_success ? json::value(rfc3339(*p.last_success)) : json::value(nullptr);
  json::object errors;
  for (const auto& [reason, count] : p.errors_total) {
    errors[reason] = count;
  }
  o["errors_total"] = std::move(errors);
  return o;
}

json::object check_json(const SourceCheck& c) {
  json::object differing;
  for (const auto& [resource, count] : c.differing) {
    differing[resource] = count;
  }
  json::array mismatches;
  for (const auto& m : c.mismatches) {
    mismatches.push_back(json::object{
        {"resource", m.resource}, {"where", m.where}, {"podresources", m.podresources}, {"checkpoint", m.checkpoint}});
  }
  json::object o{{"compared", c.compared}, {"differing", std::move(differing)}, {"mismatches", std::move(mismatches)}};
  if (!c.compared || !c.not_compared_because.empty()) {
    o["not_compared_because"] = c.not_compared_because;
  }
  return o;
}

json::object pci_json(const PciDevice& d) {
  return json::object{{"bus_id", d.bus_id},
                      {"vendor_id", d.vendor_id},
                      {"device_id", d.device_id},
                      {"class_id", d.class_id},
                      {"class", pci_class_name(d.class_id)}};
}

json::object topology_json(const Topology& t) {
  json::array nodes;
  for (const auto& n : t.nodes) {
    json::array cores;
    for (const auto& c : n.cores) {
      cores.push_back(json::object{{"logical_index", c.logical_index},
                                   {"os_index", c.os_index},
                                   {"package", c.package},
                                   {"cpus", c.cpus.to_string()}});
    }
    json::array hp;
    for (const auto& h : n.hugepages) {
      hp.push_back(json::object{{"resource", hugepage_resource_name(h.page_size_bytes)},
                                {"page_size_bytes", h.page_size_bytes},
                                {"total_pages", h.total_pages},
                                {"free_pages", h.free_pages}});
    }
    json::array pci;
    for (const auto& d : n.pci_devices) {
      pci.push_back(pci_json(d));
    }
    json::object distances;
    for (const auto& [to, d] : n.distances) {
      distances[numanode_label(to)] = d;
    }
    json::object node{{"id", n.id},
                      {"name", numanode_label(n.id)},
                      {"cpus", n.cpus.to_string()},
                      {"has_cpus", n.has_cpus()},
                      {"offline_cpus", n.offline_cpus.to_string()},
                      {"cores", std::move(cores)},
                      {"memory_bytes", n.memory_bytes},
                      {"memory_kind", std::string(to_string(n.memory_kind))},
                      {"memory_kind_because", n.memory_kind_because},
                      {"hwloc_subtype", n.hwloc_subtype},
                      {"distances", std::move(distances)},
                      {"hugepages", std::move(hp)},
                      {"pci_devices", std::move(pci)}};
    if (n.access) {
      node["hmat"] = json::object{{"read_bandwidth_mbps", n.access->read_bandwidth_mbps},
                                  {"read_latency_ns", n.access->read_latency_ns},
                                  {"initiators", int_array(n.access->initiators)}};
    }
    nodes.push_back(std::move(node));
  }
  json::array problems;
  for (const auto& p : t.problems) {
    problems.push_back(json::value(p));
  }
  const InvariantReport inv = check_invariants(t);
  json::array violations;
  for (const auto& v : inv.violations) {
    violations.push_back(json::value(v));
  }
  json::array pci_without_node;
  for (const auto& d : t.pci_without_node) {
    pci_without_node.push_back(pci_json(d));
  }
  json::object out{{"source", t.source},
                   {"numa_in_sysfs", t.numa_in_sysfs},
                   {"online_cpus", t.online_cpus.to_string()},
                   {"offline_cpus", t.offline_cpus.to_string()},
                   {"cpus_without_node", t.cpus_without_node.to_string()},
                   {"disallowed_cpus", t.disallowed_cpus.to_string()},
                   {"pci_devices_without_node", std::move(pci_without_node)},
                   {"problems", std::move(problems)},
                   {"invariants", json::object{{"hold", inv.holds()}, {"violations", std::move(violations)}}},
                   {"nodes", std::move(nodes)}};
  out["memory_total_bytes"] = t.memory_total_bytes ? json::value(*t.memory_total_bytes) : json::value(nullptr);
  out["hwloc_error"] = t.hwloc_error.empty() ? json::value(nullptr) : json::value(t.hwloc_error);
  return out;
}

}  // namespace

json::value numa_debug_json(const NumaSnapshot& snap) {
  const auto& m = snap.model;
  json::object out;
  out["node"] = snap.node_name;
  out["generation"] = snap.generation;
  out["built_at"] = rfc3339(snap.built_at);
  out["topology"] = snap.topology ? json::value(topology_json(*snap.topology)) : json::value(nullptr);
  if (!snap.topology_error.empty()) {
    out["topology_error"] = snap.topology_error;
  }
  json::array files;
  for (const auto& f : snap.files) {
    files.push_back(file_json(f));
  }
  out["files"] = std::move(files);
  out["podresources"] = podresources_json(snap.podresources);
  json::object sources;
  for (const auto& [key, source] : m.sources) {
    sources[key.first + "/" + key.second] = std::string(to_string(source));
  }
  out["value_sources"] = std::move(sources);
  out["placements_source"] = std::string(to_string(m.placements_source));
  out["source_check"] = check_json(m.check);
  out["cpu_policy"] = m.cpu_policy;
  out["memory_policy"] = m.memory_policy;

  json::array nodes;
  for (const auto& n : m.nodes) {
    json::object hp;
    for (const auto& [resource, a] : n.hugepages) {
      hp[resource] = amounts_json(a);
    }
    json::object dev;
    for (const auto& [resource, count] : n.devices_allocated) {
      dev[resource] = count;
    }
    json::object dev_allocatable;
    for (const auto& [resource, count] : n.devices_allocatable) {
      dev_allocatable[resource] = count;
    }
    json::array notes;
    for (const auto& note : n.notes) {
      notes.push_back(json::value(note));
    }
    nodes.push_back(json::object{{"id", n.id},
                                 {"name", numanode_label(n.id)},
                                 {"capacity_cpus", n.capacity_cpus.to_string()},
                                 {"reserved_cpus", n.reserved_cpus.to_string()},
                                 {"allocatable_cpus", n.allocatable_cpus.to_string()},
                                 {"exclusive_cpus", n.exclusive_cpus.to_string()},
                                 {"shared_pool", n.shared_pool.to_string()},
                                 {"memory", amounts_json(n.memory)},
                                 {"hugepages", std::move(hp)},
                                 {"devices_allocated", std::move(dev)},
                                 {"devices_allocatable", std::move(dev_allocatable)},
                                 {"notes", std::move(notes)}});
  }
  out["numa_nodes"] = std::move(nodes);

  json::array containers;
  for (const auto& c : m.containers) {
    json::array devs;
    for (const auto& d : c.devices) {
      json::array ids;
      for (const auto& id : d.ids) {
        ids.push_back(json::value(id));
      }
      devs.push_back(
          json::object{{"resource", d.resource}, {"ids", std::move(ids)}, {"numa_nodes", int_array(d.numa_nodes)}});
    }
    containers.push_back(json::object{{"pod_uid", c.pod_uid},
                                      {"container", c.container},
                                      {"pod", pod_json(c.pod, c.orphaned)},
                                      {"orphaned", c.orphaned},
                                      {"guaranteed", c.guaranteed},
                                      {"cpus", c.cpus.to_string()},
                                      {"memory", blocks_json(c.memory)},
                                      {"devices", std::move(devs)},
                                      {"numa_nodes", int_array(c.numa_nodes)},
                                      {"aligned", c.aligned}});
  }
  out["containers"] = std::move(containers);
  json::array pods;
  for (const auto& p : m.pods) {
    pods.push_back(json::object{{"pod_uid", p.pod_uid},
                                {"pod", pod_json(p.pod, p.orphaned)},
                                {"orphaned", p.orphaned},
                                {"cpus", p.cpus.to_string()},
                                {"memory", blocks_json(p.memory)},
                                {"numa_nodes", int_array(p.numa_nodes)}});
  }
  out["pod_level_entries"] = std::move(pods);
  json::object without, allocatable_without, registered;
  for (const auto& [r, c] : m.devices_without_affinity) {
    without[r] = c;
  }
  for (const auto& [r, c] : m.allocatable_without_affinity) {
    allocatable_without[r] = c;
  }
  for (const auto& [r, c] : m.devices_registered) {
    registered[r] = c;
  }
  out["devices_without_affinity"] = std::move(without);
  out["allocatable_devices_without_affinity"] = std::move(allocatable_without);
  out["devices_registered"] = std::move(registered);
  out["orphaned_containers"] = m.orphaned_containers;
  json::array pci;
  for (const auto& l : m.pci) {
    json::object o = pci_json(l.device);
    o["numanode"] = l.numa_node ? json::value(numanode_label(*l.numa_node)) : json::value(nullptr);
    o["resource"] = l.resource.empty() ? json::value(nullptr) : json::value(l.resource);
    if (!l.device.driver_id.empty()) {
      o["driver_id"] = l.device.driver_id;
    }
    pci.push_back(std::move(o));
  }
  out["pci_devices"] = std::move(pci);
  return out;
}

json::array numa_zones_json(const NumaSnapshot& snap) {
  json::array zones;
  for (const auto& n : snap.model.nodes) {
    json::object resources;
    resources["cpu"] =
        amounts_json(Amounts{n.capacity_cpus.size(), n.allocatable_cpus.size(), n.exclusive_cpus.size(), {}});
    resources["memory"] = amounts_json(n.memory);
    for (const auto& [resource, a] : n.hugepages) {
      resources[resource] = amounts_json(a);
    }
    for (const auto& [resource, count] : n.devices_allocatable) {
      resources[resource] = json::object{{"allocatable", count}, {"allocation", std::uint64_t{0}}};
    }
    for (const auto& [resource, count] : n.devices_allocated) {
      resources[resource].as_object()["allocation"] = count;
    }
    zones.push_back(json::object{{"id", n.id}, {"name", numanode_label(n.id)}, {"resources", std::move(resources)}});
  }
  return zones;
}

}  // namespace nodepack::numa
