#include "aggregator/snapshot_render.hpp"

#include "aggregator/exposition.hpp"
#include "common/rfc3339.hpp"
#include "kube/resource_list.hpp"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include <array>

namespace nodepack::aggregator {
namespace {

namespace json = boost::json;

double ratio(double numerator, double denominator) { return denominator == 0 ? 0.0 : numerator / denominator; }

struct FamilyText {
  const char* name;
  const char* help;
};

// The five binpacking families of one scope (node, cluster, group), in KBE's order.
using BinpackingNames = std::array<FamilyText, 5>;

constexpr BinpackingNames node_names{{
    {"kube_binpacking_node_allocated", "Total resource requested by pods on this node"},
    {"kube_binpacking_node_allocatable", "Total allocatable resource on this node"},
    {"kube_binpacking_node_utilization_ratio", "Ratio of allocated to allocatable (0.0-1.0+)"},
    {"kube_binpacking_node_daemonset_overhead", "Total resource requested by DaemonSet pods on this node"},
    {"kube_binpacking_node_daemonset_overhead_ratio", "Ratio of DaemonSet overhead to allocatable (0.0-1.0+)"},
}};
constexpr BinpackingNames cluster_names{{
    {"kube_binpacking_cluster_allocated", "Cluster-wide total resource requested"},
    {"kube_binpacking_cluster_allocatable", "Cluster-wide total allocatable resource"},
    {"kube_binpacking_cluster_utilization_ratio", "Cluster-wide allocation ratio"},
    {"kube_binpacking_cluster_daemonset_overhead", "Cluster-wide total resource requested by DaemonSet pods"},
    {"kube_binpacking_cluster_daemonset_overhead_ratio", "Cluster-wide DaemonSet overhead ratio"},
}};
constexpr BinpackingNames group_names{{
    {"kube_binpacking_group_allocated", "Total resource requested by pods on nodes in this label group"},
    {"kube_binpacking_group_allocatable", "Total allocatable resource on nodes in this label group"},
    {"kube_binpacking_group_utilization_ratio",
     "Ratio of allocated to allocatable for nodes in this label group (0.0-1.0+)"},
    {"kube_binpacking_group_daemonset_overhead",
     "Total resource requested by DaemonSet pods on nodes in this label group"},
    {"kube_binpacking_group_daemonset_overhead_ratio",
     "Ratio of DaemonSet overhead to allocatable for nodes in this label group (0.0-1.0+)"},
}};

// Exported values of one scope: allocated, allocatable, DaemonSet per resource.
struct ScopeValues {
  const std::vector<kube::Quantity>* allocated;
  const std::vector<kube::Quantity>* allocatable;
  const std::vector<kube::Quantity>* daemonset;
};

// One family of the five for every scope: f = 0..4 picks which. Scopes are (labels, values);
// the resource label is appended.
template <class Scopes>
void write_binpacking(ExpositionWriter& w, const BinpackingNames& names, const std::vector<std::string>& resources,
                      const Scopes& scopes) {
  for (std::size_t f = 0; f < names.size(); ++f) {
    w.family(names[f].name, names[f].help);
    std::array<LabelPair, 4> labels{};
    scopes([&](const LabelPair* scope, std::size_t scope_size, const ScopeValues& v) {
      std::copy(scope, scope + scope_size, labels.begin());
      for (std::size_t r = 0; r < resources.size(); ++r) {
        labels[scope_size] = {"resource", resources[r]};
        const auto value = [&](const std::vector<kube::Quantity>& q) {
          return kube::exporter_value(resources[r], q[r]);
        };
        double out = 0;
        switch (f) {
          case 0:
            out = value(*v.allocated);
            break;
          case 1:
            out = value(*v.allocatable);
            break;
          case 2:
            out = ratio(value(*v.allocated), value(*v.allocatable));
            break;
          case 3:
            out = value(*v.daemonset);
            break;
          default:
            out = ratio(value(*v.daemonset), value(*v.allocatable));
            break;
        }
        w.sample(names[f].name, labels.data(), scope_size + 1, out);
      }
    });
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

std::string render_snapshot_metrics(const Snapshot& snapshot) {
  const SnapshotConfig& config = *snapshot.config;
  const auto& resources = config.resources;
  std::string out;
  out.reserve(256 + snapshot.nodes.size() * resources.size() * (config.node_metrics ? 5 * 90 : 0));
  ExpositionWriter w(out);

  if (config.node_metrics) {
    write_binpacking(w, node_names, resources, [&](auto&& emit) {
      for (const auto& row : snapshot.nodes) {
        if (!row.usable) {
          continue;  // see snapshot.hpp: no node series without a usable report
        }
        const LabelPair scope{"node", row.info->name};
        emit(&scope, 1, ScopeValues{&row.allocated, &row.allocatable, &row.daemonset});
      }
    });
  }

  const Aggregate& cluster = snapshot.cluster;
  write_binpacking(w, cluster_names, resources, [&](auto&& emit) {
    emit(nullptr, 0, ScopeValues{&cluster.allocated, &cluster.allocatable, &cluster.daemonset});
  });
  w.family("kube_binpacking_cluster_node_count", "Total number of nodes in the cluster");
  w.sample("kube_binpacking_cluster_node_count", {}, static_cast<double>(cluster.node_count));

  const auto for_each_group = [&](auto&& f) {
    for (const auto& table : snapshot.groups) {
      for (const auto& [value, a] : table.values) {
        const std::array<LabelPair, 2> scope{{{"label_group", table.group->name}, {"label_group_value", value}}};
        f(scope, a);
      }
    }
  };
  if (!snapshot.groups.empty()) {
    write_binpacking(w, group_names, resources, [&](auto&& emit) {
      for_each_group([&](const std::array<LabelPair, 2>& scope, const Aggregate& a) {
        emit(scope.data(), scope.size(), ScopeValues{&a.allocated, &a.allocatable, &a.daemonset});
      });
    });
    w.family("kube_binpacking_group_node_count", "Number of nodes in this label group");
    for_each_group([&](const std::array<LabelPair, 2>& scope, const Aggregate& a) {
      w.sample("kube_binpacking_group_node_count", scope.data(), scope.size(), static_cast<double>(a.node_count));
    });
  }

  if (!config.fit_shapes.empty()) {
    // Fit and stranded for one scope (cluster: no labels; group: label_group, label_group_value).
    const auto fit = [&](const char* name, const LabelPair* scope, std::size_t n, const Aggregate& a) {
      std::array<LabelPair, 3> labels{};
      std::copy(scope, scope + n, labels.begin());
      for (std::size_t s = 0; s < config.fit_shapes.size(); ++s) {
        labels[n] = {"shape", config.fit_shapes[s].name};
        w.sample(name, labels.data(), n + 1, static_cast<double>(a.fit[s]));
      }
    };
    const auto stranded = [&](const char* name, const LabelPair* scope, std::size_t n, const Aggregate& a) {
      std::array<LabelPair, 4> labels{};
      std::copy(scope, scope + n, labels.begin());
      for (std::size_t s = 0; s < config.fit_shapes.size(); ++s) {
        labels[n] = {"shape", config.fit_shapes[s].name};
        for (std::size_t r = 0; r < resources.size(); ++r) {
          labels[n + 1] = {"resource", resources[r]};
          w.sample(name, labels.data(), n + 2, kube::exporter_value(resources[r], a.stranded[s][r]));
        }
      }
    };
    w.family("kube_binpacking_cluster_fit_pods",
             "Pods of this shape that still fit: sum over nodes of the fewest fits across the shape's resources "
             "and the node's free pod slots");
    fit("kube_binpacking_cluster_fit_pods", nullptr, 0, cluster);
    w.family("kube_binpacking_cluster_stranded",
             "Free allocatable resource on nodes where not one more pod of this shape fits");
    stranded("kube_binpacking_cluster_stranded", nullptr, 0, cluster);
    if (!snapshot.groups.empty()) {
      w.family("kube_binpacking_group_fit_pods", "Pods of this shape that still fit on nodes in this label group");
      for_each_group([&](const std::array<LabelPair, 2>& scope, const Aggregate& a) {
        fit("kube_binpacking_group_fit_pods", scope.data(), scope.size(), a);
      });
      w.family("kube_binpacking_group_stranded",
               "Free allocatable resource on nodes in this label group where not one more pod of this shape fits");
      for_each_group([&](const std::array<LabelPair, 2>& scope, const Aggregate& a) {
        stranded("kube_binpacking_group_stranded", scope.data(), scope.size(), a);
      });
    }
  }

  if (config.pending_enabled) {
    w.family("kube_binpacking_cluster_pending_requested", "Total resource requested by unscheduled Pending pods");
    for (std::size_t r = 0; r < resources.size(); ++r) {
      w.sample("kube_binpacking_cluster_pending_requested", {{"resource", resources[r]}},
               kube::exporter_value(resources[r], snapshot.pending_requested[r]));
    }
    w.family("kube_binpacking_cluster_pending_pods", "Number of unscheduled Pending pods");
    w.sample("kube_binpacking_cluster_pending_pods", {}, static_cast<double>(snapshot.pending_pods));
  }

  w.family("nodepack_aggregator_nodes",
           "Tracked nodes by the freshness of their report (fresh, stale, missing, invalid).");
  for (std::size_t i = 0; i < freshness_names.size(); ++i) {
    w.sample("nodepack_aggregator_nodes", {{"state", freshness_names[i]}},
             static_cast<double>(snapshot.state_counts[i]));
  }
  w.family("nodepack_aggregator_nodes_by_source",
           "Tracked nodes by where their summed figures come from: agent (its report), api (the aggregator's own "
           "pod watch, --node-source api or auto), none (not summed).");
  for (std::size_t i = 0; i < figures_names.size(); ++i) {
    w.sample("nodepack_aggregator_nodes_by_source", {{"source", figures_names[i]}},
             static_cast<double>(snapshot.source_counts[i]));
  }
  w.family("nodepack_aggregator_reporting_nodes",
           "Tracked nodes whose figures (a report within --stale-after, or the aggregator's own) are summed.");
  w.sample("nodepack_aggregator_reporting_nodes", {}, static_cast<double>(cluster.reporting_nodes));
  return out;
}

namespace {

// /api/snapshot in three parts, so the text can be written node by node (snapshot_json_text)
// without first building the whole tree, which at 65,000 nodes is 100 MB of JSON values.
json::object snapshot_head_json(const Snapshot& snapshot) {
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
  return out;
}

json::object node_json(const SnapshotConfig& config, const NodeRow& row) {
  json::object n;
  n["name"] = row.info->name;
  n["state"] = freshness_names[static_cast<std::size_t>(row.state)];
  n["usable"] = row.usable;
  n["source"] = figures_names[static_cast<std::size_t>(row.source)];
  n["reason"] = row.reason;
  n["report_age_seconds"] = row.report_age_seconds ? json::value(*row.report_age_seconds) : json::value(nullptr);
  n["resources"] = resources_json(config, row.allocated, row.allocatable, row.daemonset);
  json::object fit;
  for (std::size_t s = 0; s < config.fit_shapes.size(); ++s) {
    fit[config.fit_shapes[s].name] = row.fit[s];
  }
  n["fit"] = std::move(fit);
  return n;
}

json::object snapshot_tail_json(const Snapshot& snapshot) {
  const SnapshotConfig& config = *snapshot.config;
  json::object out;
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

}  // namespace

json::object snapshot_json(const Snapshot& snapshot) {
  json::object out = snapshot_head_json(snapshot);
  json::array nodes;
  nodes.reserve(snapshot.nodes.size());
  for (const auto& row : snapshot.nodes) {
    nodes.push_back(node_json(*snapshot.config, row));
  }
  out["nodes"] = std::move(nodes);
  for (auto& [key, value] : snapshot_tail_json(snapshot)) {
    out[key] = std::move(value);
  }
  return out;
}

std::string snapshot_json_text(const Snapshot& snapshot) {
  // The same bytes as serialize(snapshot_json(snapshot)) + "\n": the head's and tail's braces are
  // opened up and the nodes written between them one at a time.
  std::string head = json::serialize(snapshot_head_json(snapshot));
  std::string tail = json::serialize(snapshot_tail_json(snapshot));
  std::string out;
  out.reserve(head.size() + tail.size() + 16 + snapshot.nodes.size() * 640);  // ~600 bytes a node
  out.append(head, 0, head.size() - 1);
  out += ",\"nodes\":[";
  for (std::size_t i = 0; i < snapshot.nodes.size(); ++i) {
    if (i > 0) {
      out += ',';
    }
    out += json::serialize(node_json(*snapshot.config, snapshot.nodes[i]));
  }
  out += "],";
  out.append(tail, 1);
  out += '\n';
  out.shrink_to_fit();
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

json::object source_lists(const Snapshot& snapshot) {
  std::array<json::array, 3> lists;
  for (const auto& row : snapshot.nodes) {
    lists[static_cast<std::size_t>(row.source)].push_back(json::string(row.info->name));
  }
  json::object out;
  for (std::size_t i = 0; i < figures_names.size(); ++i) {
    out[figures_names[i]] = std::move(lists[i]);
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
