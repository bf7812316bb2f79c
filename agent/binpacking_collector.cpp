#include "agent/binpacking_collector.hpp"

#include "kube/resource_list.hpp"
#include "metrics/family.hpp"

namespace nodepack::agent {

double ratio(double numerator, double denominator) { return denominator == 0 ? 0.0 : numerator / denominator; }

BinpackingCollector::BinpackingCollector(const NodeState& state, std::vector<std::string> resources, bool node_metrics,
                                         std::function<std::vector<kube::ReflectorStatus>()> watch_status,
                                         const Clock& clock, std::chrono::system_clock::time_point started)
    : state_(state),
      resources_(std::move(resources)),
      node_metrics_(node_metrics),
      watch_status_(std::move(watch_status)),
      clock_(clock),
      started_(started) {}

double BinpackingCollector::cache_age_seconds() const {
  std::optional<std::chrono::system_clock::time_point> oldest;
  for (const auto& s : watch_status_()) {
    if (!s.last_activity) {
      oldest = started_;
      break;
    }
    if (!oldest || *s.last_activity < *oldest) {
      oldest = s.last_activity;
    }
  }
  const auto since = oldest.value_or(started_);
  return std::max(0.0, std::chrono::duration<double>(clock_.now() - since).count());
}

std::vector<prometheus::MetricFamily> BinpackingCollector::Collect() const {
  using metrics::Family;
  std::vector<prometheus::MetricFamily> out;
  const auto node = state_.node();
  if (node_metrics_ && node) {
    auto allocated = Family::gauge("kube_binpacking_node_allocated", "Total resource requested by pods on this node");
    auto allocatable = Family::gauge("kube_binpacking_node_allocatable", "Total allocatable resource on this node");
    auto utilization =
        Family::gauge("kube_binpacking_node_utilization_ratio", "Ratio of allocated to allocatable (0.0-1.0+)");
    auto ds = Family::gauge("kube_binpacking_node_daemonset_overhead",
                            "Total resource requested by DaemonSet pods on this node");
    auto ds_ratio = Family::gauge("kube_binpacking_node_daemonset_overhead_ratio",
                                  "Ratio of DaemonSet overhead to allocatable (0.0-1.0+)");
    const auto totals = state_.pods().totals();
    const auto value_of = [](const kube::ResourceList& list, const std::string& resource) {
      const auto it = list.find(resource);
      return it == list.end() ? 0.0 : kube::exporter_value(resource, it->second);
    };
    for (const auto& resource : resources_) {
      double used = 0;
      double ds_used = 0;
      if (resource == "pods") {
        // Pods are not requested by containers; the scheduler counts them against allocatable pods.
        used = static_cast<double>(totals.pod_count);
        ds_used = static_cast<double>(totals.daemonset_pod_count);
      } else {
        used = value_of(totals.allocated, resource);
        ds_used = value_of(totals.daemonset_allocated, resource);
      }
      const double capacity = value_of(node->allocatable, resource);
      allocated.add({{"node", node->name}, {"resource", resource}}, used);
      allocatable.add({{"node", node->name}, {"resource", resource}}, capacity);
      utilization.add({{"node", node->name}, {"resource", resource}}, ratio(used, capacity));
      ds.add({{"node", node->name}, {"resource", resource}}, ds_used);
      ds_ratio.add({{"node", node->name}, {"resource", resource}}, ratio(ds_used, capacity));
    }
    metrics::emit(out, allocated, allocatable, utilization, ds, ds_ratio);
  }
  auto age = Family::gauge("kube_binpacking_cache_age_seconds", "Time since last informer cache sync");
  age.add({}, cache_age_seconds());
  std::move(age).into(out);
  return out;
}

}  // namespace nodepack::agent
