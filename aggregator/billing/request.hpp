#pragma once

// What a usage request asks for, parsed and checked before any query is built: the Kube-App body
// (namespace, limit, agg, timeBeginInterval, timeEndInterval, with its defaults) and the
// accounting endpoint's query parameters. Times are Unix seconds; begin inclusive, end exclusive.

#include "common/result.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nodepack::billing {

enum class Agg { none, pod_by_namespace, all_namespace, all_pod };
std::string_view agg_name(Agg agg);

// Kube-App's limits: at most this many points per series (Prometheus' own cap per range query).
inline constexpr std::int64_t max_limit = 11'000;

struct MetricRequest {
  std::string ns = "default";
  std::int64_t limit = 100;
  Agg agg = Agg::none;
  std::int64_t begin = 0;
  std::int64_t end = 0;
};

// "YYYY-MM-DD", "YYYY-MM-DD HH:MM:SS" (UTC) or RFC 3339; rounded down to the second.
Result<std::int64_t> parse_api_time(std::string_view text);
std::string format_api_time(std::int64_t unix_seconds);

// A Kubernetes namespace name (RFC 1123 label), so it can go into PromQL without escaping.
bool valid_namespace(std::string_view ns);

// The POST body ("" is {}); `now` gives the defaults. Errors are the 400's reason.
Result<MetricRequest> parse_metric_request(std::string_view body, std::chrono::system_clock::time_point now,
                                           std::chrono::seconds max_range);

enum class AccountingBy { ns, pod };
enum class AccountingFormat { json, csv };

struct AccountingRequest {
  std::int64_t from = 0;
  std::int64_t to = 0;
  AccountingBy by = AccountingBy::ns;
  AccountingFormat format = AccountingFormat::json;
  std::optional<std::string> ns;
};

// `param(name)` returns a query parameter ("" when absent).
template <class Param>
Result<AccountingRequest> parse_accounting_request(Param param, std::chrono::system_clock::time_point now,
                                                   std::chrono::seconds max_range);

// Shared checks: end after begin, range within max_range.
Result<void> check_range(std::int64_t begin, std::int64_t end, std::chrono::seconds max_range,
                         std::string_view begin_name, std::string_view end_name);

template <class Param>
Result<AccountingRequest> parse_accounting_request(Param param, std::chrono::system_clock::time_point now,
                                                   std::chrono::seconds max_range) {
  AccountingRequest r;
  const std::string to = param("to");
  const std::string from = param("from");
  if (to.empty()) {
    r.to = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  } else {
    auto t = parse_api_time(to);
    if (!t) {
      return fail("to: " + t.error().message);
    }
    r.to = *t;
  }
  if (from.empty()) {
    r.from = r.to - 24 * 3600;
  } else {
    auto t = parse_api_time(from);
    if (!t) {
      return fail("from: " + t.error().message);
    }
    r.from = *t;
  }
  if (auto ok = check_range(r.from, r.to, max_range, "from", "to"); !ok) {
    return ok.error();
  }
  const std::string by = param("by");
  if (by.empty() || by == "namespace") {
    r.by = AccountingBy::ns;
  } else if (by == "pod") {
    r.by = AccountingBy::pod;
  } else {
    return fail("by must be namespace or pod, not \"" + by + "\"");
  }
  const std::string format = param("format");
  if (format.empty() || format == "json") {
    r.format = AccountingFormat::json;
  } else if (format == "csv") {
    r.format = AccountingFormat::csv;
  } else {
    return fail("format must be json or csv, not \"" + format + "\"");
  }
  const std::string ns = param("namespace");
  if (!ns.empty()) {
    if (!valid_namespace(ns)) {
      return fail("namespace \"" + ns + "\" is not a Kubernetes namespace name");
    }
    r.ns = ns;
  }
  return r;
}

}  // namespace nodepack::billing
