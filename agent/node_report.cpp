#include "agent/node_report.hpp"

#include "common/rfc3339.hpp"

#include <boost/json.hpp>

#include <cstdint>
#include <cstdio>

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

std::string report_etag(const boost::json::value& report) {
  boost::json::object content = report.as_object();
  content.erase("built_at");
  std::uint64_t hash = 0xcbf29ce484222325ULL;  // FNV-1a, 64 bits: a tag, not a defence
  for (const unsigned char c : boost::json::serialize(content)) {
    hash = (hash ^ c) * 0x100000001b3ULL;
  }
  char text[19];
  std::snprintf(text, sizeof text, "\"%016llx\"", static_cast<unsigned long long>(hash));
  return text;
}

}  // namespace nodepack::agent
