#include "numa/source_metrics.hpp"

#include "metrics/family.hpp"
#include "numa/collector.hpp"

#include <chrono>

namespace nodepack::numa {

using metrics::Family;

void add_source_families(std::vector<prometheus::MetricFamily>& out, const NumaSnapshot& snap) {
  const std::string& node = snap.node_name;
  const auto& model = snap.model;

  auto source = Family::gauge("numainfo_value_source",
                              "Where the per-NUMA numbers of a resource (cpu, memory, hugepages, devices) and type "
                              "(allocatable, allocation) come from: podresources, checkpoint, capacity or none; "
                              "always 1.");
  for (const auto& [key, from] : model.sources) {
    source.add(
        {{"node", node}, {"resource", key.first}, {"source", std::string(to_string(from))}, {"type", key.second}}, 1.0);
  }

  // Only when both accounts were compared: absent is "not compared", 0 is "they agree".
  auto mismatch = Family::gauge(
      "numainfo_source_mismatch",
      "NUMA nodes (or groups of nodes a memory block spans) on which the kubelet's pod-resources API and its "
      "checkpoint files disagree, by resource; present only when both were compared.");
  if (model.check.compared) {
    for (const auto& [resource, differing] : model.check.differing) {
      mismatch.add({{"node", node}, {"resource", resource}}, static_cast<double>(differing));
    }
  }

  auto up = Family::gauge("numainfo_podresources_up",
                          "Whether the kubelet's pod-resources API answered the last poll (1) or not (0).");
  auto errors = Family::counter("numainfo_podresources_errors_total", "Pod-resources polls that failed, by reason.");
  auto last_success = Family::gauge("numainfo_podresources_last_success_timestamp_seconds",
                                    "When pod-resources last answered, seconds since the Unix epoch.");
  const auto& pr = snap.podresources;
  if (pr.enabled) {
    up.add({{"node", node}}, pr.fresh() ? 1.0 : 0.0);
    for (const auto& [reason, count] : pr.errors_total) {
      errors.add({{"node", node}, {"reason", reason}}, static_cast<double>(count));
    }
    if (pr.last_success) {
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(pr.last_success->time_since_epoch());
      last_success.add({{"node", node}}, static_cast<double>(ms.count()) / 1000.0);
    }
  }

  auto pci = Family::gauge("numainfo_pci_device_count",
                           "PCI devices per NUMA node and class that no device-plugin resource hands out, count.");
  std::map<std::pair<std::string, std::string>, double> unclaimed;
  for (const auto& l : model.pci) {
    if (l.resource.empty()) {
      unclaimed[{l.numa_node ? numanode_label(*l.numa_node) : "none", pci_class_name(l.device.class_id)}] += 1;
    }
  }
  for (const auto& [key, count] : unclaimed) {
    pci.add({{"class", key.second}, {"node", node}, {"numanode", key.first}}, count);
  }
  metrics::emit(out, source, mismatch, up, errors, last_success, pci);
}

}  // namespace nodepack::numa
