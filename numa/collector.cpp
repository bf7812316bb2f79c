#include "numa/collector.hpp"

#include "metrics/family.hpp"
#include "numa/source_metrics.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace nodepack::numa {

std::string numanode_label(unsigned id) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "node%02u", id);
  return buf;
}

using metrics::Family;
using prometheus::MetricFamily;

std::vector<MetricFamily> numa_metric_families(const NumaSnapshot& snap, const VersionInfo& version) {
  const std::string& node = snap.node_name;
  const auto& model = snap.model;

  auto node_count = Family::gauge("numainfo_node_count", "NUMA nodes per node, count.");
  node_count.add({{"node", node}}, snap.topology ? static_cast<double>(snap.topology->nodes.size()) : 0.0);

  // What a person needs to read per-node numbers on a tiered machine: which nodes have CPUs, what
  // memory each holds, and how far apart they are.
  auto info = Family::gauge("numainfo_node_info",
                            "NUMA nodes as the kubelet sees them: whether the node has CPUs and the kind of memory it "
                            "holds (dram, hbm, nvm, cxl, gpu, none, unknown); always 1.");
  auto distance = Family::gauge("numainfo_distance",
                                "NUMA distance from numanode to the node in \"to\" (the kernel's SLIT, 10 = local).");
  if (snap.topology) {
    for (const auto& n : snap.topology->nodes) {
      const std::string numanode = numanode_label(n.id);
      info.add({{"has_cpus", n.has_cpus() ? "true" : "false"},
                {"memory_kind", std::string(to_string(n.memory_kind))},
                {"node", node},
                {"numanode", numanode}},
               1.0);
      for (const auto& [to, d] : n.distances) {
        distance.add({{"node", node}, {"numanode", numanode}, {"to", numanode_label(to)}}, static_cast<double>(d));
      }
    }
  }

  auto cores = Family::gauge("numainfo_core_count", "CPU cores per NUMA node, count.");
  auto shared =
      Family::gauge("numainfo_shared_pool_core_count",
                    "Logical CPUs per NUMA node in the shared pool (capacity minus exclusively assigned), count.");
  auto memory = Family::gauge("numainfo_memory_bytes",
                              "Memory per NUMA node by type (capacity, allocatable, allocation), bytes.");
  auto hugepages =
      Family::gauge("numainfo_hugepages_bytes",
                    "Hugepages per NUMA node and page size by type (capacity, allocatable, allocation, free), bytes.");
  auto devices = Family::gauge("numainfo_device_count",
                               "Devices per NUMA node and resource by type (allocatable, allocation; registered with "
                               "numanode=\"any\"; numanode=\"none\" when the device has no NUMA affinity), count.");
  for (const auto& n : model.nodes) {
    const std::string numanode = numanode_label(n.id);
    // "allocation" is emitted as 0, never left out, so dashboards see every node.
    cores.add({{"node", node}, {"numanode", numanode}, {"type", "allocatable"}},
              static_cast<double>(n.allocatable_cpus.size()));
    cores.add({{"node", node}, {"numanode", numanode}, {"type", "allocation"}},
              static_cast<double>(n.exclusive_cpus.size()));
    cores.add({{"node", node}, {"numanode", numanode}, {"type", "capacity"}},
              static_cast<double>(n.capacity_cpus.size()));
    shared.add({{"node", node}, {"numanode", numanode}}, static_cast<double>(n.shared_pool.size()));
    memory.add({{"node", node}, {"numanode", numanode}, {"type", "allocatable"}},
               static_cast<double>(n.memory.allocatable));
    memory.add({{"node", node}, {"numanode", numanode}, {"type", "allocation"}},
               static_cast<double>(n.memory.allocation));
    memory.add({{"node", node}, {"numanode", numanode}, {"type", "capacity"}}, static_cast<double>(n.memory.capacity));
    for (const auto& [resource, am] : n.hugepages) {
      const std::string size = resource.substr(std::string("hugepages-").size());
      hugepages.add({{"node", node}, {"numanode", numanode}, {"size", size}, {"type", "allocatable"}},
                    static_cast<double>(am.allocatable));
      hugepages.add({{"node", node}, {"numanode", numanode}, {"size", size}, {"type", "allocation"}},
                    static_cast<double>(am.allocation));
      hugepages.add({{"node", node}, {"numanode", numanode}, {"size", size}, {"type", "capacity"}},
                    static_cast<double>(am.capacity));
      if (am.free) {
        hugepages.add({{"node", node}, {"numanode", numanode}, {"size", size}, {"type", "free"}},
                      static_cast<double>(*am.free));
      }
    }
    for (const auto& [resource, count] : n.devices_allocatable) {
      devices.add({{"node", node}, {"numanode", numanode}, {"resource", resource}, {"type", "allocatable"}},
                  static_cast<double>(count));
    }
    for (const auto& [resource, count] : n.devices_allocated) {
      devices.add({{"node", node}, {"numanode", numanode}, {"resource", resource}, {"type", "allocation"}},
                  static_cast<double>(count));
    }
  }
  for (const auto& [resource, count] : model.allocatable_without_affinity) {
    devices.add({{"node", node}, {"numanode", "none"}, {"resource", resource}, {"type", "allocatable"}},
                static_cast<double>(count));
  }
  for (const auto& [resource, count] : model.devices_without_affinity) {
    devices.add({{"node", node}, {"numanode", "none"}, {"resource", resource}, {"type", "allocation"}},
                static_cast<double>(count));
  }
  for (const auto& [resource, count] : model.devices_registered) {
    devices.add({{"node", node}, {"numanode", "any"}, {"resource", resource}, {"type", "registered"}},
                static_cast<double>(count));
  }

  // numainfo_exporter's name for the same count (it declared it, for PCI devices, with these labels).
  auto pci_devices = devices.renamed("numainfo_pcidevice_count",
                                     "PCI device resources per NUMA node, count (the same as numainfo_device_count).");

  auto aligned = Family::gauge(
      "numainfo_container_aligned",
      "Whether a Guaranteed container's CPUs, memory and devices are all on one NUMA node (1) or not (0).");
  for (const auto& c : model.containers) {
    if (!c.guaranteed || !c.pod || c.numa_nodes.empty()) {
      continue;
    }
    aligned.add(
        {{"container", c.container}, {"namespace", c.pod->namespace_name}, {"node", node}, {"pod", c.pod->name}},
        c.aligned ? 1.0 : 0.0);
  }
  auto orphaned = Family::gauge("numainfo_orphaned_containers",
                                "Containers in the kubelet's checkpoints whose pod is not bound to this node, count.");
  orphaned.add({{"node", node}}, static_cast<double>(model.orphaned_containers));

  auto valid = Family::gauge(
      "numainfo_checkpoint_valid",
      "Whether the kubelet checkpoint file parsed and its checksum did not contradict it (1) or not (0).");
  auto errors = Family::counter(
      "numainfo_checkpoint_errors_total",
      "Kubelet checkpoint file reads that failed or did not verify, by reason, counted once per file content.");
  auto last_read = Family::gauge("numainfo_checkpoint_last_read_timestamp_seconds",
                                 "When the kubelet checkpoint file was last read, seconds since the Unix epoch.");
  for (const auto& f : snap.files) {
    valid.add({{"file", f.name}, {"node", node}}, f.healthy() ? 1.0 : 0.0);
    for (const auto& [reason, count] : f.errors_total) {
      errors.add({{"file", f.name}, {"node", node}, {"reason", reason}}, static_cast<double>(count));
    }
    if (f.last_read) {
      const auto since = f.last_read->time_since_epoch();
      last_read.add({{"file", f.name}, {"node", node}},
                    static_cast<double>(std::chrono::duration_cast<std::chrono::milliseconds>(since).count()) / 1000.0);
    }
  }

  auto ver = Family::gauge("numainfo_version", "Version information");
  ver.add({{"branch", version.branch},
           {"compiler", version.compiler},
           {"kubeversion", version.kubeversion},
           {"revision", version.revision},
           {"version", version.version}},
          1.0);
  std::vector<MetricFamily> out;
  metrics::emit(out, node_count, info, distance, cores, shared, memory, hugepages, devices, pci_devices, aligned,
                orphaned, valid, errors, last_read, ver);
  add_source_families(out, snap);
  // numainfo_exporter printed its families in name order.
  std::sort(out.begin(), out.end(), [](const MetricFamily& a, const MetricFamily& b) { return a.name < b.name; });
  return out;
}

std::vector<MetricFamily> NumaCollector::Collect() const {
  const auto snap = state_.snapshot();
  return numa_metric_families(*snap, version_);
}

}  // namespace nodepack::numa
