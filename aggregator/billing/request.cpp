#include "aggregator/billing/request.hpp"

#include "common/duration.hpp"
#include "common/rfc3339.hpp"

#include <boost/json.hpp>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace nodepack::billing {
namespace {

namespace json = boost::json;

Result<std::int64_t> time_field(const json::object& body, std::string_view key, std::int64_t fallback) {
  const auto* v = body.if_contains(key);
  if (v == nullptr || v->is_null()) {
    return fallback;
  }
  if (v->is_number()) {
    const double d = v->to_number<double>();
    if (!std::isfinite(d) || d < 0 || d > 253402300799.0) {
      return fail(std::string(key) + ": " + json::serialize(*v) + " is not a Unix time");
    }
    return static_cast<std::int64_t>(std::floor(d));
  }
  if (!v->is_string()) {
    return fail(std::string(key) + " must be a date string");
  }
  if (v->as_string().empty()) {
    return fallback;
  }
  auto t = parse_api_time(v->as_string());
  if (!t) {
    return fail(std::string(key) + ": " + t.error().message);
  }
  return *t;
}

}  // namespace

std::string_view agg_name(Agg agg) {
  switch (agg) {
    case Agg::pod_by_namespace:
      return "pod-by-namespace";
    case Agg::all_namespace:
      return "all-namespace";
    case Agg::all_pod:
      return "all-pod";
    case Agg::none:
      break;
  }
  return "none";
}

Result<std::int64_t> parse_api_time(std::string_view text) {
  const std::string s(text);
  const auto bad = [&] { return fail("\"" + s + "\" is not a date (YYYY-MM-DD, YYYY-MM-DD HH:MM:SS or RFC 3339)"); };
  std::tm tm{};
  int consumed = 0;
  if (s.size() == 10) {
    if (std::sscanf(s.c_str(), "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &consumed) != 3 ||
        consumed != 10) {
      return bad();
    }
  } else if (s.size() == 19 && s[10] == ' ') {
    if (std::sscanf(s.c_str(), "%4d-%2d-%2d %2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                    &tm.tm_min, &tm.tm_sec, &consumed) != 6 ||
        consumed != 19) {
      return bad();
    }
  } else {
    if (s.size() < 20 || (s[10] != 'T' && s[10] != 't')) {
      return bad();
    }
    std::string upper = s;
    upper[10] = 'T';
    auto t = parse_rfc3339(upper);
    if (!t) {
      return bad();
    }
    // parse_rfc3339 does not check fields; do it on the date part the same way as below.
    if (std::sscanf(s.c_str(), "%4d-%2d-%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday) != 3 || tm.tm_mon < 1 ||
        tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31) {
      return bad();
    }
    return std::chrono::duration_cast<std::chrono::seconds>(t->time_since_epoch()).count();
  }
  for (std::size_t i = 0; i < s.size(); ++i) {
    const bool sep = i == 4 || i == 7 || i == 10 || i == 13 || i == 16;
    if (!sep && (s[i] < '0' || s[i] > '9')) {
      return bad();
    }
  }
  if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
      tm.tm_sec > 60) {
    return bad();
  }
  const int day = tm.tm_mday;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  const std::time_t secs = timegm(&tm);
  if (tm.tm_mday != day) {
    return bad();  // 2026-02-30 normalised into March
  }
  return static_cast<std::int64_t>(secs);
}

std::string format_api_time(std::int64_t unix_seconds) {
  return format_rfc3339(std::chrono::system_clock::time_point(std::chrono::seconds(unix_seconds)));
}

bool valid_namespace(std::string_view ns) {
  if (ns.empty() || ns.size() > 63 || ns.front() == '-' || ns.back() == '-') {
    return false;
  }
  for (const char c : ns) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
      return false;
    }
  }
  return true;
}

Result<void> check_range(std::int64_t begin, std::int64_t end, std::chrono::seconds max_range,
                         std::string_view begin_name, std::string_view end_name) {
  if (end <= begin) {
    return fail(std::string(end_name) + " (" + format_api_time(end) + ") is not after " + std::string(begin_name) +
                " (" + format_api_time(begin) + ")");
  }
  if (end - begin > max_range.count()) {
    return fail("the range " + format_api_time(begin) + " to " + format_api_time(end) + " is longer than " +
                format_go_duration(max_range) + " (--api.max-range)");
  }
  return {};
}

Result<MetricRequest> parse_metric_request(std::string_view body, std::chrono::system_clock::time_point now,
                                           std::chrono::seconds max_range) {
  json::value doc = json::object();
  if (body.find_first_not_of(" \t\r\n") != std::string_view::npos) {
    boost::system::error_code ec;
    doc = json::parse(body, ec);
    if (ec) {
      return fail("the body is not JSON: " + ec.message());
    }
  }
  const auto* obj = doc.if_object();
  if (obj == nullptr) {
    return fail("the body must be a JSON object");
  }
  MetricRequest r;
  if (const auto* ns = obj->if_contains("namespace"); ns != nullptr && !ns->is_null()) {
    if (!ns->is_string()) {
      return fail("namespace must be a string");
    }
    if (!ns->as_string().empty()) {
      r.ns = std::string(ns->as_string());
    }
    if (!valid_namespace(r.ns)) {
      return fail("namespace \"" + r.ns + "\" is not a Kubernetes namespace name");
    }
  }
  if (const auto* limit = obj->if_contains("limit"); limit != nullptr && !limit->is_null()) {
    std::int64_t value = 0;
    bool ok = false;
    if (limit->is_int64()) {
      value = limit->as_int64();
      ok = true;
    } else if (limit->is_uint64()) {
      ok = limit->as_uint64() <= static_cast<std::uint64_t>(max_limit);
      value = ok ? static_cast<std::int64_t>(limit->as_uint64()) : 0;
    } else if (limit->is_double()) {
      const double d = limit->as_double();
      ok = std::isfinite(d) && d == std::floor(d) && std::fabs(d) <= 1e9;
      value = ok ? static_cast<std::int64_t>(d) : 0;
    } else if (limit->is_string()) {
      const auto& s = limit->as_string();
      const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
      ok = !s.empty() && ec == std::errc() && end == s.data() + s.size();
    }
    if (!ok || value < 1 || value > max_limit) {
      return fail("limit must be a whole number from 1 to " + std::to_string(max_limit) + ", not " +
                  json::serialize(*limit));
    }
    r.limit = value;
  }
  if (const auto* agg = obj->if_contains("agg"); agg != nullptr && agg->is_string()) {
    const auto& a = agg->as_string();
    r.agg = a == "pod-by-namespace" ? Agg::pod_by_namespace
            : a == "all-namespace"  ? Agg::all_namespace
            : a == "all-pod"        ? Agg::all_pod
                                    : Agg::none;
  }
  const std::int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  auto end = time_field(*obj, "timeEndInterval", now_s);
  if (!end) {
    return end.error();
  }
  auto begin = time_field(*obj, "timeBeginInterval", now_s - 3600);
  if (!begin) {
    return begin.error();
  }
  if (auto ok = check_range(*begin, *end, max_range, "timeBeginInterval", "timeEndInterval"); !ok) {
    return ok.error();
  }
  r.begin = *begin;
  r.end = *end;
  return r;
}

}  // namespace nodepack::billing
