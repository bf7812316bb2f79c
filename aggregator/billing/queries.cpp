#include "aggregator/billing/queries.hpp"
#include "common/strings.hpp"

#include <algorithm>

namespace nodepack::billing {
namespace {

std::string selector(std::string_view metric, const std::string& matcher) {
  return std::string(metric) + (matcher.empty() ? "" : "{" + matcher + "}");
}

std::string seconds(std::int64_t s) { return std::to_string(s) + "s"; }

std::string replace_window(std::string_view expression, std::int64_t window) {
  std::string out(expression);
  for (std::size_t at; (at = out.find("$w")) != std::string::npos;) {
    out.replace(at, 2, seconds(window));
  }
  return out;
}

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

// Per container: what it requested over the range plus, step by step, what it used beyond its
// request; and never less than what it used over the range. In the range's interior this is the
// sum over steps of max(used, requested). The whole-range figures come from increase() over the
// range, so a container that started or ended inside it is counted as `used` and `requested` are
// (a step holding a single sample of it has no increase of its own).
std::string billable(std::string_view used, std::string_view requested, const std::string& matcher,
                     const std::string& by, std::int64_t range, std::int64_t step) {
  const std::string per_container = "sum by (namespace, pod, container) (increase(";
  const auto increase = [&](std::string_view counter, std::int64_t window) {
    return per_container + selector(counter, matcher) + "[" + seconds(window) + "]))";
  };
  const std::string u_step = increase(used, step);
  const std::string q_step = increase(requested, step);
  // The subquery's points are the steps' ends, strictly after the range's start.
  const std::string excess = "sum_over_time(clamp_min(" + u_step + " - " + q_step + " or " + u_step + ", 0)[" +
                             std::to_string(range * 1000 - 1) + "ms:" + seconds(step) + "])";
  const std::string u_total = increase(used, range);
  const std::string q_total = increase(requested, range);
  const std::string owed = "(" + q_total + " + " + excess + " or " + q_total + " or " + excess + ")";
  return "sum by (" + by + ") (" + owed + " >= " + u_total + " or " + u_total + " or " + owed + ")";
}

}  // namespace

std::string namespace_matcher(const NamespaceScope& scope) {
  if (scope.only) {
    return "namespace=\"" + *scope.only + "\"";
  }
  if (scope.allowed.empty()) {
    return "";
  }
  std::string alternatives;
  for (const auto& ns : scope.allowed) {
    alternatives += (alternatives.empty() ? "" : "|") + ns;
  }
  return "namespace=~\"" + alternatives + "\"";
}

std::int64_t series_step(std::int64_t begin, std::int64_t end, std::int64_t limit) {
  return std::max<std::int64_t>(1, ceil_div(end - begin, std::max<std::int64_t>(1, limit)));
}

std::int64_t rate_window(std::int64_t step) { return std::max<std::int64_t>(step, 300); }

std::int64_t average_step(std::int64_t range) { return std::max<std::int64_t>(60, ceil_div(range, 10'000)); }

std::vector<std::string> series_labels(const MetricDef& metric) {
  switch (metric.level) {
    case MetricLevel::container:
      return {"namespace", "pod", "container"};
    case MetricLevel::pod:
      return {"namespace", "pod"};
    case MetricLevel::node:
      break;
  }
  return {"node"};
}

std::vector<std::string> total_labels(const MetricDef& metric, Agg agg) {
  if (metric.level == MetricLevel::node) {
    return {"node"};
  }
  if (agg == Agg::all_namespace) {
    return {"namespace"};
  }
  return {"namespace", "pod"};
}

RangeQuery series_query(const MetricDef& metric, const MetricRequest& request, const NamespaceScope& scope) {
  RangeQuery q;
  q.step = series_step(request.begin, request.end, request.limit);
  const std::int64_t points = ceil_div(request.end - request.begin, q.step);
  q.start = request.begin;
  q.end = request.begin + (points - 1) * q.step;
  const std::int64_t window = rate_window(q.step);
  if (metric.level == MetricLevel::node) {
    q.promql = "(" + replace_window(metric.source, window) + ")" + std::string(metric.scale);
    return q;
  }
  const std::string sel = selector(metric.source, namespace_matcher(scope));
  const std::string inner = metric.kind == MetricKind::rate ? "rate(" + sel + "[" + seconds(window) + "])" : sel;
  q.promql = "sum by (" + join(series_labels(metric), ", ") + ") (" + inner + ")" + std::string(metric.scale);
  return q;
}

InstantQuery totals_query(const MetricDef& metric, const MetricRequest& request, const NamespaceScope& scope) {
  InstantQuery q;
  const std::int64_t range = request.end - request.begin;
  const std::string by = join(total_labels(metric, request.agg), ", ");
  const std::string sel = selector(metric.source, namespace_matcher(scope));
  if (metric.kind != MetricKind::gauge && metric.level != MetricLevel::node) {
    // A counter's increase from the sample at begin to the sample at end: what accrued in [begin, end).
    q.time_ms = request.end * 1000;
    q.promql = "sum by (" + by + ") (increase(" + sel + "[" + seconds(range) + "]))";
    if (metric.kind == MetricKind::rate) {
      q.promql += " / " + std::to_string(range);
    }
    q.promql += std::string(metric.scale);
    return q;
  }
  // A gauge's time average: sampled at begin, begin+S, ... < end (evaluated 1 ms before end).
  const std::int64_t step = average_step(range);
  const std::string inner = metric.level == MetricLevel::node ? replace_window(metric.source, rate_window(step))
                                                              : "sum by (" + by + ") (" + sel + ")";
  q.time_ms = request.end * 1000 - 1;
  q.promql = "sum_over_time((" + inner + ")[" + seconds(range) + ":" + seconds(step) + "]) * " + std::to_string(step) +
             " / " + std::to_string(range) + std::string(metric.scale);
  return q;
}

std::string_view aggregate_name(MetricKind kind) {
  switch (kind) {
    case MetricKind::rate:
      return "mean_rate";
    case MetricKind::cumulative:
      return "increase";
    case MetricKind::gauge:
      break;
  }
  return "time_average";
}

std::int64_t billing_step(std::int64_t range, std::int64_t configured_step) {
  return std::max<std::int64_t>(std::max<std::int64_t>(1, configured_step), ceil_div(range, 10'000));
}

AccountingQueries accounting_queries(const AccountingRequest& request, const NamespaceScope& scope,
                                     std::int64_t configured_step) {
  AccountingQueries q;
  const std::int64_t range = request.to - request.from;
  q.step = billing_step(range, configured_step);
  q.labels = request.by == AccountingBy::pod ? std::vector<std::string>{"namespace", "pod"}
                                             : std::vector<std::string>{"namespace"};
  const std::string by = join(q.labels, ", ");
  const std::string matcher = namespace_matcher(scope);
  const std::int64_t at = request.to * 1000;
  const auto increase = [&](std::string_view counter, std::string_view divisor) {
    return InstantQuery{"sum by (" + by + ") (increase(" + selector(counter, matcher) + "[" + seconds(range) +
                            "])) / " + std::string(divisor),
                        at};
  };
  constexpr std::string_view cpu_used = "kpod_cpu_usage_seconds_total";
  constexpr std::string_view cpu_requested = "nodepack_container_cpu_requested_core_seconds_total";
  constexpr std::string_view memory_used = "nodepack_container_memory_used_byte_seconds_total";
  constexpr std::string_view memory_requested = "nodepack_container_memory_requested_byte_seconds_total";
  constexpr std::string_view gib_hours = "1073741824 / 3600";
  q.cpu_used = increase(cpu_used, "3600");
  q.cpu_requested = increase(cpu_requested, "3600");
  q.cpu_billable = InstantQuery{billable(cpu_used, cpu_requested, matcher, by, range, q.step) + " / 3600", at};
  q.memory_used = increase(memory_used, gib_hours);
  q.memory_requested = increase(memory_requested, gib_hours);
  q.memory_billable = InstantQuery{
      billable(memory_used, memory_requested, matcher, by, range, q.step) + " / " + std::string(gib_hours), at};
  q.gpu = increase("nodepack_container_gpu_allocated_seconds_total", "3600");
  return q;
}

}  // namespace nodepack::billing
