#pragma once

// Kube-App's metric names (the seed's two tables) and where each comes from in Prometheus.

#include <string>
#include <string_view>
#include <vector>

namespace nodepack::billing {

enum class MetricKind {
  rate,        // per-second rate of a counter
  cumulative,  // a counter's value
  gauge,       // a value at each instant
};
enum class MetricLevel {
  container,  // labels namespace, pod, container
  pod,        // labels namespace, pod (network: summed over interfaces)
  node,       // label node; a whole-cluster view
};

struct MetricDef {
  std::string_view name;
  std::string_view unit;
  MetricKind kind;
  MetricLevel level;
  bool main;  // one of the seed's main metrics
  // Container and pod level: the Prometheus metric name. Node level: a PromQL expression with
  // "$w" for the rate window, already one series per node.
  std::string_view source;
  // Appended to the expression to reach `unit` (" * 1000", " / 1e6"); "" for none.
  std::string_view scale;
  std::string_view description;
  // Non-empty: not collected by nodepack (501), and why.
  std::string_view not_collected = {};
};

const std::vector<MetricDef>& catalogue();
const MetricDef* find_metric(std::string_view name);
// For a name Kube-App's own README uses but no table of it has ("gpu/usage_rate", in its web
// example), the metric to ask for instead, as a sentence; "" for any other name. `name` may carry
// a trailing "/<namespace>" (a web path).
std::string unknown_metric_hint(std::string_view name);
std::string_view kind_name(MetricKind kind);
std::string_view level_name(MetricLevel level);

}  // namespace nodepack::billing
