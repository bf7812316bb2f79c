#include "aggregator/snapshot.hpp"

#include "common/rfc3339.hpp"

#include <algorithm>
#include <limits>

namespace nodepack::aggregator {
namespace {

using kube::Int128;
using kube::Quantity;

const Quantity* find(const kube::ResourceList& list, const std::string& name) {
  const auto it = list.find(name);
  return it == list.end() ? nullptr : &it->second;
}

Quantity value_or_zero(const kube::ResourceList& list, const std::string& name) {
  const auto* q = find(list, name);
  return q == nullptr ? Quantity() : *q;
}

std::int64_t saturate(Int128 value) {
  if (value > Int128{std::numeric_limits<std::int64_t>::max()}) {
    return std::numeric_limits<std::int64_t>::max();
  }
  return static_cast<std::int64_t>(value);
}

void add(std::vector<Quantity>& into, const std::vector<Quantity>& values) {
  for (std::size_t i = 0; i < values.size(); ++i) {
    into[i] += values[i];
  }
}

std::string seconds_text(double seconds) { return std::to_string(static_cast<std::int64_t>(seconds)) + "s"; }

// The state of one node and whether its last good report is still within the bound.
struct Classified {
  Freshness state = Freshness::missing;
  bool usable = false;
  std::string reason;
};

Classified classify(const ReportState* reports, std::chrono::system_clock::time_point now,
                    std::chrono::nanoseconds stale_after) {
  Classified out;
  if (reports == nullptr) {
    out.reason = "no agent found on this node";
    return out;
  }
  const NodeReport* good = reports->good.get();
  if (good != nullptr) {
    const auto built_age = now - reports->good_built();
    const auto pulled_age = now - reports->good_pulled;
    out.usable = built_age <= stale_after && pulled_age <= stale_after;
  }
  const auto& failure = reports->last_failure;
  if (failure && is_invalid_report(failure->reason)) {
    out.state = Freshness::invalid;
    out.reason = std::string(pull_error_name(failure->reason)) + ": " + failure->message;
  } else if (good == nullptr) {
    out.state = Freshness::missing;
    out.reason = failure ? std::string(pull_error_name(failure->reason)) + ": " + failure->message
                         : (reports->has_agent ? "no report pulled yet" : "no agent found on this node");
  } else if (!out.usable) {
    out.state = Freshness::stale;
    const double age =
        std::chrono::duration<double>(now - std::min(reports->good_built(), reports->good_pulled)).count();
    out.reason =
        "last good report is " + seconds_text(age) + " old (built " + format_rfc3339(reports->good_built()) + ")";
    if (failure) {
      out.reason += "; latest pull: " + std::string(pull_error_name(failure->reason)) + ": " + failure->message;
    }
  } else {
    out.state = Freshness::fresh;
  }
  return out;
}

std::string group_value(const LabelGroup& group, const std::map<std::string, std::string>& labels) {
  std::string value;
  for (std::size_t i = 0; i < group.keys.size(); ++i) {
    if (i > 0) {
      value.push_back(',');
    }
    const auto it = labels.find(group.keys[i]);
    value += it == labels.end() ? "<none>" : it->second;
  }
  return value;
}

}  // namespace

SnapshotConfig SnapshotConfig::from(const AggregatorOptions& options) {
  SnapshotConfig config;
  config.resources = options.resources;
  config.label_groups = options.label_groups;
  config.fit_shapes = options.fit_shapes;
  config.stale_after = options.stale_after;
  config.node_metrics = !options.disable_node_metrics;
  config.pending_enabled = options.pending_pods;
  config.node_source = options.node_source;
  return config;
}

void Aggregate::reset(std::size_t resources, std::size_t shapes) {
  allocated.assign(resources, Quantity());
  allocatable.assign(resources, Quantity());
  daemonset.assign(resources, Quantity());
  fit.assign(shapes, 0);
  stranded.assign(shapes, std::vector<Quantity>(resources));
}

std::int64_t fit_count(const FitShape& shape, const kube::ResourceList& allocatable,
                       const kube::ResourceList& allocated, std::optional<std::int64_t> free_pods) {
  Int128 fit = std::numeric_limits<std::int64_t>::max();
  for (const auto& [resource, request] : shape.requests) {
    const Quantity free = value_or_zero(allocatable, resource) - value_or_zero(allocated, resource);
    if (free <= Quantity()) {
      return 0;
    }
    // Exact floor division on nano-units: floor(free / request), both positive.
    fit = std::min(fit, free.nanos() / request.nanos());
  }
  if (free_pods) {
    fit = std::min<Int128>(fit, std::max<std::int64_t>(*free_pods, 0));
  }
  return saturate(fit);
}

std::shared_ptr<const Snapshot> build_snapshot(const SnapshotInputs& inputs,
                                               std::shared_ptr<const SnapshotConfig> config, std::uint64_t sequence) {
  auto snapshot = std::make_shared<Snapshot>();
  const auto& resources = config->resources;
  const auto& shapes = config->fit_shapes;
  const std::size_t nr = resources.size();
  const std::size_t ns = shapes.size();
  snapshot->built_at = inputs.now;
  snapshot->sequence = sequence;
  snapshot->cluster.reset(nr, ns);
  snapshot->groups.resize(config->label_groups.size());
  for (std::size_t g = 0; g < config->label_groups.size(); ++g) {
    snapshot->groups[g].group = &config->label_groups[g];
  }
  snapshot->nodes.reserve(inputs.nodes.size());

  std::vector<std::vector<Quantity>> stranded(ns, std::vector<Quantity>(nr));
  kube::ResourceList merged;
  for (const auto& [name, info] : inputs.nodes) {
    NodeRow row;
    row.info = info;
    const auto found = inputs.reports.find(name);
    const ReportState* reports = found == inputs.reports.end() ? nullptr : &found->second;
    auto classified = classify(reports, inputs.now, config->stale_after);
    // --node-source: api counts every node from the aggregator's own pod watch (its freshness is
    // the watch's); auto does so only where no fresh agent report is at hand.
    bool use_own = false;
    if (config->node_source == NodeSource::api) {
      classified = Classified{};
      if (inputs.own.usable) {
        classified.state = Freshness::fresh;
        classified.usable = true;
        use_own = true;
      } else {
        classified.reason = "the aggregator's pod watch: " + inputs.own.reason;
      }
    } else if (config->node_source == NodeSource::automatic && classified.state != Freshness::fresh &&
               inputs.own.usable) {
      classified.reason = "counted from the aggregator's pod watch (agent: " + classified.reason + ")";
      classified.state = Freshness::fresh;
      classified.usable = true;
      use_own = true;
    }
    row.state = classified.state;
    row.usable = classified.usable;
    row.reason = std::move(classified.reason);
    ++snapshot->state_counts[static_cast<std::size_t>(row.state)];
    const NodeReport* report =
        reports != nullptr && config->node_source != NodeSource::api ? reports->good.get() : nullptr;
    if (report != nullptr) {
      row.report_age_seconds = std::chrono::duration<double>(inputs.now - reports->good_built()).count();
      row.generation = report->generation;
    }

    // The Node's allocatable is authoritative; the report only fills resources the Node lacks.
    const kube::ResourceList* allocatable = &info->allocatable;
    if (report != nullptr &&
        std::any_of(report->allocatable.begin(), report->allocatable.end(),
                    [&node = info->allocatable](const auto& kv) { return !node.contains(kv.first); })) {
      merged = info->allocatable;
      merged.insert(report->allocatable.begin(), report->allocatable.end());
      allocatable = &merged;
    }
    row.allocatable.resize(nr);
    row.allocated.assign(nr, Quantity());
    row.daemonset.assign(nr, Quantity());
    row.fit.assign(ns, 0);
    for (std::size_t r = 0; r < nr; ++r) {
      row.allocatable[r] = value_or_zero(*allocatable, resources[r]);
    }
    // The figures summed for this node: its agent's report or the aggregator's own.
    static const kube::ResourceList no_pods;
    const kube::ResourceList* node_allocated = nullptr;
    const kube::ResourceList* node_daemonset = nullptr;
    std::int64_t node_pod_count = 0;
    if (row.usable && use_own) {
      const kube::NodeTotals* own = inputs.own.node ? inputs.own.node(name) : nullptr;
      node_allocated = own != nullptr ? &own->allocated : &no_pods;
      node_daemonset = own != nullptr ? &own->daemonset_allocated : &no_pods;
      node_pod_count = own != nullptr ? own->pod_count : 0;
      row.source = NodeFigures::api;
    } else if (row.usable && report != nullptr) {
      node_allocated = &report->allocated;
      node_daemonset = &report->daemonset_allocated;
      node_pod_count = report->pod_count;
      row.source = NodeFigures::agent;
    } else {
      row.usable = false;
    }
    ++snapshot->source_counts[static_cast<std::size_t>(row.source)];
    if (row.usable) {
      for (std::size_t r = 0; r < nr; ++r) {
        row.allocated[r] = value_or_zero(*node_allocated, resources[r]);
        row.daemonset[r] = value_or_zero(*node_daemonset, resources[r]);
      }
      std::optional<std::int64_t> free_pods;
      if (const auto* pods = find(*allocatable, "pods"); pods != nullptr) {
        free_pods = pods->value_ceil() - node_pod_count;
      }
      for (std::size_t s = 0; s < ns; ++s) {
        row.fit[s] = fit_count(shapes[s], *allocatable, *node_allocated, free_pods);
        for (std::size_t r = 0; r < nr; ++r) {
          // Free capacity where not one more pod of the shape fits is stranded for that shape.
          const Quantity free = row.allocatable[r] - row.allocated[r];
          stranded[s][r] = row.fit[s] == 0 && free > Quantity() ? free : Quantity();
        }
      }
    }

    const auto accumulate = [&](Aggregate& a) {
      ++a.node_count;
      if (!row.usable) {
        return;
      }
      ++a.reporting_nodes;
      add(a.allocated, row.allocated);
      add(a.allocatable, row.allocatable);
      add(a.daemonset, row.daemonset);
      for (std::size_t s = 0; s < ns; ++s) {
        a.fit[s] += row.fit[s];
        add(a.stranded[s], stranded[s]);
      }
    };
    accumulate(snapshot->cluster);
    for (auto& table : snapshot->groups) {
      auto [it, inserted] = table.values.try_emplace(group_value(*table.group, info->labels));
      if (inserted) {
        it->second.reset(nr, ns);
      }
      accumulate(it->second);
    }
    snapshot->nodes.push_back(std::move(row));
  }

  snapshot->pending_requested.assign(nr, Quantity());
  for (const auto& [uid, requests] : inputs.pending) {
    ++snapshot->pending_pods;
    for (std::size_t r = 0; r < nr; ++r) {
      snapshot->pending_requested[r] +=
          resources[r] == "pods" ? Quantity::from_units(1) : value_or_zero(requests, resources[r]);
    }
  }
  snapshot->config = std::move(config);
  return snapshot;
}

}  // namespace nodepack::aggregator
