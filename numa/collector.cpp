#include "numa/collector.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <deque>
#include <iterator>

namespace nodepack::numa {

std::string numanode_label(unsigned id) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "node%02u", id);
  return buf;
}

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

class Families {
 public:
  MetricFamily& family(const std::string& name, const std::string& help, MetricType type) {
    for (auto& f : families_) {
      if (f.name == name) {
        return f;
      }
    }
    families_.push_back({name, help, type, {}});
    return families_.back();
  }

  // Labels are given in alphabetical order, as numainfo_exporter printed them.
  void gauge(MetricFamily& f, std::vector<ClientMetric::Label> labels, double value) {
    ClientMetric m;
    m.label = std::move(labels);
    m.gauge.value = value;
    f.metric.push_back(std::move(m));
  }

  void counter(MetricFamily& f, std::vector<ClientMetric::Label> labels, double value) {
    ClientMetric m;
    m.label = std::move(labels);
    m.counter.value = value;
    f.metric.push_back(std::move(m));
  }

  std::vector<MetricFamily> take() {
    std::vector<MetricFamily> out(std::make_move_iterator(families_.begin()), std::make_move_iterator(families_.end()));
    std::sort(out.begin(), out.end(), [](const MetricFamily& a, const MetricFamily& b) { return a.name < b.name; });
    return out;
  }

 private:
  std::deque<MetricFamily> families_;  // references handed out stay valid as families are added
};

}  // namespace

std::vector<MetricFamily> numa_metric_families(const NumaSnapshot& snap, const VersionInfo& version) {
  Families fs;
  const std::string& node = snap.node_name;
  const auto& model = snap.model;

  auto& node_count = fs.family("numainfo_node_count", "NUMA nodes per node, count.", MetricType::Gauge);
  fs.gauge(node_count, {{"node", node}}, snap.topology ? static_cast<double>(snap.topology->nodes.size()) : 0.0);

  auto& cores = fs.family("numainfo_core_count", "CPU cores per NUMA node, count.", MetricType::Gauge);
  auto& shared = fs.family(
      "numainfo_shared_pool_core_count",
      "Logical CPUs per NUMA node in the shared pool (capacity minus exclusively assigned), count.", MetricType::Gauge);
  auto& memory =
      fs.family("numainfo_memory_bytes", "Memory per NUMA node by type (capacity, allocatable, allocation), bytes.",
                MetricType::Gauge);
  auto& hugepages =
      fs.family("numainfo_hugepages_bytes",
                "Hugepages per NUMA node and page size by type (capacity, allocatable, allocation, free), bytes.",
                MetricType::Gauge);
  auto& devices = fs.family("numainfo_device_count",
                            "Devices per NUMA node and resource by type (allocation; registered with numanode=\"any\"; "
                            "numanode=\"none\" when the device has no NUMA affinity), count.",
                            MetricType::Gauge);
  for (const auto& n : model.nodes) {
    const std::string numanode = numanode_label(n.id);
    // "allocation" is emitted as 0, never left out, so dashboards see every node.
    fs.gauge(cores, {{"node", node}, {"numanode", numanode}, {"type", "allocatable"}},
             static_cast<double>(n.allocatable_cpus.size()));
    fs.gauge(cores, {{"node", node}, {"numanode", numanode}, {"type", "allocation"}},
             static_cast<double>(n.exclusive_cpus.size()));
    fs.gauge(cores, {{"node", node}, {"numanode", numanode}, {"type", "capacity"}},
             static_cast<double>(n.capacity_cpus.size()));
    fs.gauge(shared, {{"node", node}, {"numanode", numanode}}, static_cast<double>(n.shared_pool.size()));
    fs.gauge(memory, {{"node", node}, {"numanode", numanode}, {"type", "allocatable"}},
             static_cast<double>(n.memory.allocatable));
    fs.gauge(memory, {{"node", node}, {"numanode", numanode}, {"type", "allocation"}},
             static_cast<double>(n.memory.allocation));
    fs.gauge(memory, {{"node", node}, {"numanode", numanode}, {"type", "capacity"}},
             static_cast<double>(n.memory.capacity));
    for (const auto& [resource, am] : n.hugepages) {
      const std::string size = resource.substr(std::string("hugepages-").size());
      fs.gauge(hugepages, {{"node", node}, {"numanode", numanode}, {"size", size}, {"type", "allocatable"}},
               static_cast<double>(am.allocatable));
      fs.gauge(hugepages, {{"node", node}, {"numanode", numanode}, {"size", size}, {"type", "allocation"}},
               static_cast<double>(am.allocation));
      fs.gauge(hugepages, {{"node", node}, {"numanode", numanode}, {"size", size}, {"type", "capacity"}},
               static_cast<double>(am.capacity));
      if (am.free) {
        fs.gauge(hugepages, {{"node", node}, {"numanode", numanode}, {"size", size}, {"type", "free"}},
                 static_cast<double>(*am.free));
      }
    }
    for (const auto& [resource, count] : n.devices_allocated) {
      fs.gauge(devices, {{"node", node}, {"numanode", numanode}, {"resource", resource}, {"type", "allocation"}},
               static_cast<double>(count));
    }
  }
  for (const auto& [resource, count] : model.devices_without_affinity) {
    fs.gauge(devices, {{"node", node}, {"numanode", "none"}, {"resource", resource}, {"type", "allocation"}},
             static_cast<double>(count));
  }
  for (const auto& [resource, count] : model.devices_registered) {
    fs.gauge(devices, {{"node", node}, {"numanode", "any"}, {"resource", resource}, {"type", "registered"}},
             static_cast<double>(count));
  }

  auto& aligned =
      fs.family("numainfo_container_aligned",
                "Whether a Guaranteed container's CPUs, memory and devices are all on one NUMA node (1) or not (0).",
                MetricType::Gauge);
  for (const auto& c : model.containers) {
    if (!c.guaranteed || !c.pod || c.numa_nodes.empty()) {
      continue;
    }
    fs.gauge(aligned,
             {{"container", c.container}, {"namespace", c.pod->namespace_name}, {"node", node}, {"pod", c.pod->name}},
             c.aligned ? 1.0 : 0.0);
  }
  auto& orphaned = fs.family("numainfo_orphaned_containers",
                             "Containers in the kubelet's checkpoints whose pod is not bound to this node, count.",
                             MetricType::Gauge);
  fs.gauge(orphaned, {{"node", node}}, static_cast<double>(model.orphaned_containers));

  auto& valid =
      fs.family("numainfo_checkpoint_valid",
                "Whether the kubelet checkpoint file parsed and its checksum did not contradict it (1) or not (0).",
                MetricType::Gauge);
  auto& errors = fs.family(
      "numainfo_checkpoint_errors_total",
      "Kubelet checkpoint file reads that failed or did not verify, by reason, counted once per file content.",
      MetricType::Counter);
  auto& last_read =
      fs.family("numainfo_checkpoint_last_read_timestamp_seconds",
                "When the kubelet checkpoint file was last read, seconds since the Unix epoch.", MetricType::Gauge);
  for (const auto& f : snap.files) {
    fs.gauge(valid, {{"file", f.name}, {"node", node}}, f.healthy() ? 1.0 : 0.0);
    for (const auto& [reason, count] : f.errors_total) {
      fs.counter(errors, {{"file", f.name}, {"node", node}, {"reason", reason}}, static_cast<double>(count));
    }
    if (f.last_read) {
      const auto since = f.last_read->time_since_epoch();
      fs.gauge(last_read, {{"file", f.name}, {"node", node}},
               static_cast<double>(std::chrono::duration_cast<std::chrono::milliseconds>(since).count()) / 1000.0);
    }
  }

  auto& ver = fs.family("numainfo_version", "Version information", MetricType::Gauge);
  fs.gauge(ver,
           {{"branch", version.branch},
            {"compiler", version.compiler},
            {"kubeversion", version.kubeversion},
            {"revision", version.revision},
            {"version", version.version}},
           1.0);
  return fs.take();
}

std::vector<MetricFamily> NumaCollector::Collect() const {
  const auto snap = state_.snapshot();
  return numa_metric_families(*snap, version_);
}

}  // namespace nodepack::numa
