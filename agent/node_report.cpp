#include "agent/node_report.hpp"

#include "common/rfc3339.hpp"

#include <boost/json.hpp>

namespace nodepack::agent {

boost::json::value resource_list_json(const kube::ResourceList& list) {
  boost::json::object out;
  for (const auto& [name, quantity] : list) {
    out[name] = quantity.to_string();
  }
  return out;
}

boost::json::value build_node_report(const NodeState& state, bool synced, std::chrono::system_clock::time_point now,
                                     boost::json::array numa_zones) {
  boost::json::object report;
  const auto node = state.node();
  const auto totals = state.pods().totals();
  report["schema_version"] = 1;
  report["node"] = state.node_name();
  boost::json::object labels;
  if (node) {
    for (const auto& [k, v] : node->labels) {
      labels[k] = v;
    }
  }
  report["labels"] = std::move(labels);
  report["node_known"] = node.has_value();
  report["allocatable"] = node ? resource_list_json(node->allocatable) : boost::json::object();
  auto allocated = totals.allocated;
  allocated["pods"] = kube::Quantity::from_units(totals.pod_count);
  auto ds_allocated = totals.daemonset_allocated;
  ds_allocated["pods"] = kube::Quantity::from_units(totals.daemonset_pod_count);
  report["allocated"] = resource_list_json(allocated);
  report["daemonset_allocated"] = resource_list_json(ds_allocated);
  report["pod_count"] = totals.pod_count;
  report["daemonset_pod_count"] = totals.daemonset_pod_count;
  report["numa_zones"] = std::move(numa_zones);
  report["synced"] = synced;
  report["generation"] = state.generation();
  report["built_at"] = format_rfc3339(now);
  return report;
}

}  // namespace nodepack::agent
