#include "aggregator/snapshot_render.hpp"

#include "agent/metric_families.hpp"
#include "common/rfc3339.hpp"
#include "kube/resource_list.hpp"

#include <boost/json/array.hpp>
#include <prometheus/text_serializer.h>

namespace nodepack::aggregator {
namespace {

using metrics::add_sample;
using metrics::gauge_family;
namespace json = boost::json;

double ratio(double numerator, double denominator) { return denominator == 0 ? 0.0 : numerator / denominator; }

// The binpacking families for one kind of scope (node, cluster, group), sharing label prefixes.
struct BinpackingFamilies {
  prometheus::MetricFamily allocated;
  prometheus::MetricFamily allocatable;
  prometheus::MetricFamily utilization;
  prometheus::MetricFamily daemonset;
  prometheus::MetricFamily daemonset_ratio;

  void add(const std::vector<std::pair<std::string, std::string>>& scope, const std::string& resource,
           double used, double capacity, double ds_used) {
    const auto sample = [&](prometheus::MetricFamily& f, double value) {
      prometheus::ClientMetric m;
      m.label.reserve(scope.size() + 1);
      for (const auto& [k, v] : scope) {
        m.label.push_back({k, v});
      }
      m.label.push_back({"resource", resource});
      m.gauge.value = value;
      f.metric.push_back(std::move(m));
    };
    sample(allocated, used);
    sample(allocatable, capacity);
    sample(utilization, ratio(used, capacity));
    sample(daemonset, ds_used);
    sample(daemonset_ratio, ratio(ds_used, capacity));
  }
  void move_into(std::vector<prometheus::MetricFamily>& out) {
    for (auto* f : {&allocated, &allocatable, &utilization, &daemonset, &daemonset_ratio}) {
      out.push_back(std::move(*f));
    }
  }
};

BinpackingFamilies node_families() {
  return {gauge_family("kube_binpacking_node_allocated", "Total resource requested by pods on this node"),
          gauge_family("kube_binpacking_node_allocatable", "Total allocatable resource on this node"),
          gauge_family("kube_binpacking_node_utilization_ratio", "Ratio of allocated to allocatable (0.0-1.0+)"),
          gauge_family("kube_binpacking_node_daemonset_overhead",
                       "Total resource requested by DaemonSet pods on this node"),
          gauge_family("kube_binpacking_node_daemonset_overhead_ratio",
                       "Ratio of DaemonSet overhead to allocatable (0.0-1.0+)")};
}

BinpackingFamilies cluster_families() {
  return {gauge_family("kube_binpacking_cluster_allocated", "Cluster-wide total resource requested"),
          gauge_family("kube_binpacking_cluster_allocatable", "Cluster-wide total allocatable resource"),
          gauge_family("kube_binpacking_cluster_utilization_ratio", "Cluster-wide allocation ratio"),
          gauge_family("kube_binpacking_cluster_daemonset_overhead",
                       "Cluster-wide total resource requested by DaemonSet pods"),
          gauge_family("kube_binpacking_cluster_daemonset_overhead_ratio", "Cluster-wide DaemonSet overhead ratio")};
}

BinpackingFamilies group_families() {
  return {gauge_family("kube_binpacking_group_allocated",
                       "Total resource requested by pods on nodes in this label group"),
          gauge_family("kube_binpacking_group_allocatable", "Total allocatable resource on nodes in this label group"),
          gauge_family("kube_binpacking_group_utilization_ratio",
                       "Ratio of allocated to allocatable for nodes in this label group (0.0-1.0+)"),
          gauge_family("kube_binpacking_group_daemonset_overhead",
                       "Total resource requested by DaemonSet pods on nodes in this label group"),
          gauge_family("kube_binpacking_group_daemonset_overhead_ratio",
                       "Ratio of DaemonSet overhead to allocatable for nodes in this label group (0.0-1.0+)")};
}

void add_fit(prometheus::MetricFamily& fit, prometheus::MetricFamily& stranded, const SnapshotConfig& config,
             const Aggregate& a, const std::vector<std::pair<std::string, std::string>>& scope) {
  for (std::size_t s = 0; s < config.fit_shapes.size(); ++s) {
    prometheus::ClientMetric m;
    for (const auto& [k, v] : scope) {
      m.label.push_back({k, v});
    }
    m.label.push_back({"shape", config.fit_shapes[s].name});
    m.gauge.value = static_cast<double>(a.fit[s]);
    fit.metric.push_back(m);
    for (std::size_t r = 0; r < config.resources.size(); ++r) {
      prometheus::ClientMetric sm = m;
      sm.label.push_back({"resource", config.resources[r]});
      sm.gauge.value = kube::exporter_value(config.resources[r], a.stranded[s][r]);
      stranded.metric.push_back(std::move(sm));
    }
  }
}

json::object resources_json(const SnapshotConfig& config, const std::vector<kube::Quantity>& allocated,
                            const std::vector<kube::Quantity>& allocatable,
                            const std::vector<kube::Quantity>& daemonset) {
  json::object out;
  for (std::size_t r = 0; r < config.resources.size(); ++r) {
    const auto& name = config.resources[r];
    const double used = kube::exporter_value(name, allocated[r]);
    const double capacity = kube::exporter_value(name, allocatable[r]);
    const double ds = kube::exporter_value(name, daemonset[r]);
    out[name] = json::object{{"allocated", used},
                             {"allocatable", capacity},
                             {"utilization", ratio(used, capacity)},
                             {"daemonset", ds},
                             {"daemonset_ratio", ratio(ds, capacity)}};
  }
  return out;
}

json::object aggregate_json(const SnapshotConfig& config, const Aggregate& a) {
  json::object out;
  out["node_count"] = a.node_count;
  out["reporting_nodes"] = a.reporting_nodes;
  out["resources"] = resources_json(config, a.allocated, a.allocatable, a.daemonset);
  json::object fit;
  for (std::size_t s = 0; s < config.fit_shapes.size(); ++s) {
    fit[config.fit_shapes[s].name] = a.fit[s];
  }
  out["fit"] = std::move(fit);
  return out;
}

}  // namespace

std::vector<prometheus::MetricFamily> snapshot_families(const Snapshot& snapshot) {
  const SnapshotConfig& config = *snapshot.config;
  const auto& resources = config.resources;
  std::vector<prometheus::MetricFamily> out;

  if (config.node_metrics) {
    auto nodes = node_families();
    for (auto* f : {&nodes.allocated, &nodes.allocatable, &nodes.utilization, &nodes.daemonset,
                    &nodes.daemonset_ratio}) {
      f->metric.reserve(snapshot.nodes.size() * resources.size());
    }
    std::vector<std::pair<std::string, std::string>> scope{{"node", ""}};
    for (const auto& row : snapshot.nodes) {
      if (!row.usable) {
        continue;  // see snapshot.hpp: no node series without a usable report
      }
      scope[0].second = row.info->name;
      for (std::size_t r = 0; r < resources.size(); ++r) {
        nodes.add(scope, resources[r], kube::exporter_value(resources[r], row.allocated[r]),
                  kube::exporter_value(resources[r], row.allocatable[r]),
                  kube::exporter_value(resources[r], row.daemonset[r]));
      }
    }
    nodes.move_into(out);
  }

  auto cluster = cluster_families();
  for (std::size_t r = 0; r < resources.size(); ++r) {
    cluster.add({}, resources[r], kube::exporter_value(resources[r], snapshot.cluster.allocated[r]),
                kube::exporter_value(resources[r], snapshot.cluster.allocatable[r]),
                kube::exporter_value(resources[r], snapshot.cluster.daemonset[r]));
  }
  cluster.move_into(out);
  auto node_count = gauge_family("kube_binpacking_cluster_node_count", "Total number of nodes in the cluster");
  add_sample(node_count, {}, static_cast<double>(snapshot.cluster.node_count));
  out.push_back(std::move(node_count));

  if (!snapshot.groups.empty()) {
    auto groups = group_families();
    auto group_count = gauge_family("kube_binpacking_group_node_count", "Number of nodes in this label group");
    for (const auto& table : snapshot.groups) {
      for (const auto& [value, a] : table.values) {
        const std::vector<std::pair<std::string, std::string>> scope{{"label_group", table.group->name},
                                                                     {"label_group_value", value}};
        for (std::size_t r = 0; r < resources.size(); ++r) {
          groups.add(scope, resources[r], kube::exporter_value(resources[r], a.allocated[r]),
                     kube::exporter_value(resources[r], a.allocatable[r]),
                     kube::exporter_value(resources[r], a.daemonset[r]));
        }
        add_sample(group_count, {scope[0], scope[1]}, static_cast<double>(a.node_count));
      }
    }
    groups.move_into(out);
    out.push_back(std::move(group_count));
  }

  if (!config.fit_shapes.empty()) {
    auto fit = gauge_family("kube_binpacking_cluster_fit_pods",
                            "Pods of this shape that still fit: sum over nodes of the fewest fits across the "
                            "shape's resources and the node's free pod slots");
    auto stranded = gauge_family("kube_binpacking_cluster_stranded",
                                 "Free allocatable resource on nodes where not one more pod of this shape fits");
    add_fit(fit, stranded, config, snapshot.cluster, {});
    out.push_back(std::move(fit));
    out.push_back(std::move(stranded));
    if (!snapshot.groups.empty()) {
      auto group_fit = gauge_family("kube_binpacking_group_fit_pods",
                                    "Pods of this shape that still fit on nodes in this label group");
      auto group_stranded =
          gauge_family("kube_binpacking_group_stranded",
                       "Free allocatable resource on nodes in this label group where not one more pod of this "
                       "shape fits");
      for (const auto& table : snapshot.groups) {
        for (const auto& [value, a] : table.values) {
          add_fit(group_fit, group_stranded, config, a,
                  {{"label_group", table.group->name}, {"label_group_value", value}});
        }
      }
      out.push_back(std::move(group_fit));
      out.push_back(std::move(group_stranded));
    }
  }

  if (config.pending_enabled) {
    auto pending = gauge_family("kube_binpacking_cluster_pending_requested",
                                "Total resource requested by unscheduled Pending pods");
    for (std::size_t r = 0; r < resources.size(); ++r) {
      add_sample(pending, {{"resource", resources[r]}},
                 kube::exporter_value(resources[r], snapshot.pending_requested[r]));
    }
    out.push_back(std::move(pending));
    auto pending_pods = gauge_family("kube_binpacking_cluster_pending_pods", "Number of unscheduled Pending pods");
    add_sample(pending_pods, {}, static_cast<double>(snapshot.pending_pods));
    out.push_back(std::move(pending_pods));
  }

  auto states = gauge_family("nodepack_aggregator_nodes",
                             "Tracked nodes by the freshness of their report (fresh, stale, missing, invalid).");
  for (std::size_t i = 0; i < freshness_names.size(); ++i) {
    add_sample(states, {{"state", freshness_names[i]}}, static_cast<double>(snapshot.state_counts[i]));
  }
  out.push_back(std::move(states));
  auto reporting = gauge_family("nodepack_aggregator_reporting_nodes",
                                "Tracked nodes whose last good report is within --stale-after and is summed.");
  add_sample(reporting, {}, static_cast<double>(snapshot.cluster.reporting_nodes));
  out.push_back(std::move(reporting));
  return out;
}

std::string render_snapshot_metrics(const Snapshot& snapshot) {
  return prometheus::TextSerializer().Serialize(snapshot_families(snapshot));
}

json::object snapshot_json(const Snapshot& snapshot) {
  const SnapshotConfig& config = *snapshot.config;
  json::object out;
  out["built_at"] = format_rfc3339(snapshot.built_at);
  out["sequence"] = snapshot.sequence;
  json::array resources;
  for (const auto& r : config.resources) {
    resources.push_back(json::string(r));
  }
  out["resources"] = std::move(resources);
  json::array shapes;
  for (const auto& s : config.fit_shapes) {
    shapes.push_back(json::string(s.name));
  }
  out["shapes"] = std::move(shapes);
  out["cluster"] = aggregate_json(config, snapshot.cluster);
  json::array groups;
  for (const auto& table : snapshot.groups) {
    json::array values;
    for (const auto& [value, a] : table.values) {
      auto v = aggregate_json(config, a);
      v["value"] = value;
      values.push_back(std::move(v));
    }
    groups.push_back(json::object{{"label_group", table.group->name}, {"values", std::move(values)}});
  }
  out["groups"] = std::move(groups);
  json::array nodes;
  nodes.reserve(snapshot.nodes.size());
  for (const auto& row : snapshot.nodes) {
    json::object n;
    n["name"] = row.info->name;
    n["state"] = freshness_names[static_cast<std::size_t>(row.state)];
    n["usable"] = row.usable;
    n["reason"] = row.reason;
    n["report_age_seconds"] = row.report_age_seconds ? json::value(*row.report_age_seconds) : json::value(nullptr);
    n["resources"] = resources_json(config, row.allocated, row.allocatable, row.daemonset);
    json::object fit;
    for (std::size_t s = 0; s < config.fit_shapes.size(); ++s) {
      fit[config.fit_shapes[s].name] = row.fit[s];
    }
    n["fit"] = std::move(fit);
    nodes.push_back(std::move(n));
  }
  out["nodes"] = std::move(nodes);
  json::object freshness;
  for (std::size_t i = 0; i < freshness_names.size(); ++i) {
    freshness[freshness_names[i]] = snapshot.state_counts[i];
  }
  out["freshness"] = std::move(freshness);
  json::object pending_requested;
  for (std::size_t r = 0; r < config.resources.size(); ++r) {
    pending_requested[config.resources[r]] = kube::exporter_value(config.resources[r], snapshot.pending_requested[r]);
  }
  out["pending"] = json::object{{"enabled", config.pending_enabled},
                                {"pods", snapshot.pending_pods},
                                {"requested", std::move(pending_requested)}};
  return out;
}

json::object freshness_lists(const Snapshot& snapshot) {
  std::array<json::array, 4> lists;
  for (const auto& row : snapshot.nodes) {
    lists[static_cast<std::size_t>(row.state)].push_back(json::string(row.info->name));
  }
  json::object out;
  for (std::size_t i = 0; i < freshness_names.size(); ++i) {
    out[freshness_names[i]] = std::move(lists[i]);
  }
  return out;
}

json::array freshness_problems(const Snapshot& snapshot) {
  json::array out;
  for (const auto& row : snapshot.nodes) {
    if (row.state == Freshness::fresh) {
      continue;
    }
    out.push_back(json::object{{"node", row.info->name},
                               {"state", freshness_names[static_cast<std::size_t>(row.state)]},
                               {"counted", row.usable},
                               {"reason", row.reason}});
  }
  return out;
}

}  // namespace nodepack::aggregator
