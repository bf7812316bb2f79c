#pragma once

// PromQL for each request (README.md in this directory says what each figure means). Pure
// functions: the tests check the text, the Prometheus test checks the numbers.

#include "aggregator/billing/catalogue.hpp"
#include "aggregator/billing/request.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace nodepack::billing {

// Which namespaces a query may see: one (`only`), or those allowed (empty: all).
struct NamespaceScope {
  std::optional<std::string> only;
  std::vector<std::string> allowed;
};
// The label matcher ("" when unrestricted). Namespace names are checked DNS labels, so they need
// no escaping.
std::string namespace_matcher(const NamespaceScope& scope);

struct RangeQuery {
  std::string promql;
  std::int64_t start = 0;  // Unix seconds
  std::int64_t end = 0;
  std::int64_t step = 0;  // seconds
};

struct InstantQuery {
  std::string promql;
  std::int64_t time_ms = 0;
};

// Seconds between points without aggregation: at most `limit` points in [begin, end).
std::int64_t series_step(std::int64_t begin, std::int64_t end, std::int64_t limit);
// The rate window at a step: at least 5 minutes so a window always holds several scrapes.
std::int64_t rate_window(std::int64_t step);
// The sampling step of a gauge's time average over a range.
std::int64_t average_step(std::int64_t range);

// The labels a series or total is keyed by.
std::vector<std::string> series_labels(const MetricDef& metric);
std::vector<std::string> total_labels(const MetricDef& metric, Agg agg);

RangeQuery series_query(const MetricDef& metric, const MetricRequest& request, const NamespaceScope& scope);
InstantQuery totals_query(const MetricDef& metric, const MetricRequest& request, const NamespaceScope& scope);
// The `aggregate` name of a totals answer.
std::string_view aggregate_name(MetricKind kind);

struct AccountingQueries {
  std::int64_t step = 0;
  std::vector<std::string> labels;  // namespace[, pod]
  InstantQuery cpu_used;
  InstantQuery cpu_requested;
  InstantQuery cpu_billable;
  InstantQuery memory_used;
  InstantQuery memory_requested;
  InstantQuery memory_billable;
  InstantQuery gpu;
};
std::int64_t billing_step(std::int64_t range, std::int64_t configured_step);
AccountingQueries accounting_queries(const AccountingRequest& request, const NamespaceScope& scope,
                                     std::int64_t configured_step);

}  // namespace nodepack::billing
