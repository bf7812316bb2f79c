#include "aggregator/billing/api.hpp"

#include "aggregator/billing/catalogue.hpp"
#include "aggregator/billing/json_text.hpp"
#include "aggregator/billing/request.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

// GCC 12 reports -Wmismatched-new-delete for coroutines that await other coroutines
// through Asio's frame allocator (a GCC 12 false positive: the new and delete it pairs are both Asio's).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace nodepack::billing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace json = boost::json;
using status = beast::http::status;
using http::Reply;
using http::Request;

constexpr std::string_view metric_prefix = "/api/";

// Whole numbers print as integers ("250", not "2.5E2"); NaN and infinities as null.
json::value json_number(double v) {
  if (!std::isfinite(v)) {
    return nullptr;
  }
  if (v == std::floor(v) && std::fabs(v) < 9007199254740992.0) {
    return static_cast<std::int64_t>(v);
  }
  return v;
}

Reply json_reply(const Request& request, const json::value& body) {
  auto response = http::make_response(request, status::ok, to_json_text(body) + "\n", "application/json");
  response.set(beast::http::field::cache_control, "no-store");
  http::maybe_gzip(request, response);
  return Reply{std::move(response), {}};
}

Reply method_not_allowed(const Request& request, std::string_view allow) {
  auto reply = json_error(request, status::method_not_allowed, "method_not_allowed",
                          std::string(request.method_string()) + " is not allowed here; use " + std::string(allow));
  reply.response.set(beast::http::field::allow, allow);
  return reply;
}

Reply upstream_failure(const Request& request, const PromFailure& failure) {
  const bool error = failure.kind == PromFailure::Kind::error;
  spdlog::warn("usage API: {} {}: {}", request.method_string(), std::string(http::target_path(request)),
               failure.reason);
  return json_error(request, status::bad_gateway, error ? "prometheus_error" : "prometheus_unavailable",
                    failure.reason);
}

NamespaceScope scope_for(const Access& access) {
  NamespaceScope scope;
  // Names go into a PromQL regex unescaped, so only DNS labels pass (the users file checks this
  // too). A restricted user left with none gets "-", which no namespace can be called.
  for (const auto& ns : access.namespaces) {
    if (valid_namespace(ns)) {
      scope.allowed.push_back(ns);
    }
  }
  if (access.restricted() && scope.allowed.empty()) {
    scope.allowed.push_back("-");
  }
  std::sort(scope.allowed.begin(), scope.allowed.end());
  return scope;
}

std::string key_of(const PromSeries& series, const std::vector<std::string>& labels) {
  std::string key;
  for (const auto& l : labels) {
    key += series.label(l);
    key += '\0';
  }
  return key;
}

json::object catalogue_json() {
  json::array metrics;
  for (const auto& m : catalogue()) {
    metrics.push_back(json::object{{"name", m.name},
                                   {"unit", m.unit},
                                   {"kind", kind_name(m.kind)},
                                   {"level", level_name(m.level)},
                                   {"main", m.main},
                                   {"collected", m.not_collected.empty()},
                                   {"description", m.description}});
  }
  return json::object{{"metrics", std::move(metrics)}};
}

std::string format_figure(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6f", std::isfinite(v) ? v : 0.0);
  return buf;
}

}  // namespace

bool Access::allows(std::string_view ns) const {
  return namespaces.empty() || std::find(namespaces.begin(), namespaces.end(), ns) != namespaces.end();
}

Reply json_error(const Request& request, status code, std::string_view error, std::string_view reason) {
  json::object body{{"error", error}, {"reason", reason}};
  auto response = http::make_response(request, code, json::serialize(body) + "\n", "application/json");
  response.set(beast::http::field::cache_control, "no-store");
  return Reply{std::move(response), {}};
}

std::string accounting_csv(const std::vector<std::string>& key_names, const std::vector<AccountingRow>& rows) {
  std::string out;
  for (const auto& k : key_names) {
    out += k + ",";
  }
  out +=
      "cpu_core_hours_used,cpu_core_hours_requested,cpu_core_hours_billable,memory_gib_hours_used,"
      "memory_gib_hours_requested,memory_gib_hours_billable,gpu_hours\n";
  for (const auto& row : rows) {
    for (const auto& k : row.keys) {
      out += k + ",";  // namespace and pod names are DNS names: no comma, quote or newline
    }
    for (const double v : {row.cpu_used, row.cpu_requested, row.cpu_billable, row.memory_used, row.memory_requested,
                           row.memory_billable, row.gpu}) {
      out += format_figure(v);
      out += ',';
    }
    out.back() = '\n';
  }
  return out;
}

Api::Api(std::unique_ptr<PrometheusClient> client, ApiOptions options, const Clock& clock, Authenticate authenticate)
    : client_(std::move(client)), options_(options), clock_(clock), authenticate_(std::move(authenticate)) {}

Api::~Api() = default;

void Api::add_routes(http::Router& router) {
  auto metric = [this](const Request& r, const http::RequestInfo& i) { return handle_metric(r, i); };
  router.add_async("/api", metric);
  router.add_async_prefix(std::string(metric_prefix), metric);
  router.add_async("/api/v1/accounting",
                   [this](const Request& r, const http::RequestInfo& i) { return handle_accounting(r, i); });
}

void Api::count(const Reply& reply) {
  const unsigned code = reply.response.result_int();
  if (code < 400) {
    ++stats_.ok;
  } else if (code < 500) {
    ++stats_.refused;
  } else if (code == 502) {
    ++stats_.prometheus_failures;
  } else {
    ++stats_.unavailable;
  }
}

asio::awaitable<Reply> Api::handle_metric(const Request& request, const http::RequestInfo& info) {
  auto reply = co_await metric_reply(request, info);
  count(reply);
  co_return reply;
}

asio::awaitable<Reply> Api::handle_accounting(const Request& request, const http::RequestInfo& info) {
  auto reply = co_await accounting_reply(request, info);
  count(reply);
  co_return reply;
}

asio::awaitable<Reply> Api::metric_reply(const Request& request, const http::RequestInfo& info) {
  if (!client_) {
    co_return json_error(request, status::service_unavailable, "api_disabled",
                         "the usage API is off: the aggregator was started without --prometheus-url");
  }
  Access access;
  if (authenticate_) {
    auto who = authenticate_(request, info);
    if (auto* refusal = std::get_if<http::Response>(&who)) {
      co_return Reply{std::move(*refusal), {}};
    }
    access = std::get<Access>(std::move(who));
  }
  const std::string_view path = http::target_path(request);
  const std::string_view name = path.size() > metric_prefix.size() ? path.substr(metric_prefix.size()) : "";
  if (name.empty()) {
    if (request.method() != beast::http::verb::get && request.method() != beast::http::verb::head) {
      co_return method_not_allowed(request, "GET");
    }
    co_return json_reply(request, catalogue_json());
  }
  const MetricDef* metric = find_metric(name);
  if (metric == nullptr) {
    const auto hint = unknown_metric_hint(name);
    co_return json_error(request, status::not_found, "unknown_metric",
                         hint.empty() ? "no metric \"" + std::string(name) + "\"; GET /api lists them" : hint);
  }
  if (request.method() != beast::http::verb::post) {
    co_return method_not_allowed(request, "POST");
  }
  if (!metric->not_collected.empty()) {
    co_return json_error(
        request, status::not_implemented, "not_collected",
        std::string(metric->name) + ": not collected by nodepack (" + std::string(metric->not_collected) + ")");
  }
  auto parsed = parse_metric_request(request.body(), clock_.now(), options_.max_range);
  if (!parsed) {
    co_return json_error(request, status::bad_request, "bad_request", parsed.error().message);
  }
  const MetricRequest& req = *parsed;
  const bool by_namespace = req.agg == Agg::none || req.agg == Agg::pod_by_namespace;
  NamespaceScope scope = scope_for(access);
  if (metric->level == MetricLevel::node) {
    if (access.restricted()) {
      co_return json_error(request, status::forbidden, "forbidden",
                           "user " + access.user + " may only see some namespaces; " + std::string(metric->name) +
                               " describes whole nodes");
    }
  } else if (by_namespace) {
    if (!access.allows(req.ns)) {
      co_return json_error(request, status::forbidden, "forbidden",
                           "user " + access.user + " may not see namespace " + req.ns);
    }
    scope.only = req.ns;
  }

  json::object out{
      {"metric", metric->name},
      {"unit", metric->unit},
      {"agg", agg_name(req.agg)},
      {"namespace", by_namespace && metric->level != MetricLevel::node ? json::value(req.ns) : json::value(nullptr)},
      {"timeBeginInterval", format_api_time(req.begin)},
      {"timeEndInterval", format_api_time(req.end)}};
  if (req.agg == Agg::none) {
    const RangeQuery q = series_query(*metric, req, scope);
    auto answer = co_await client_->query_range(q.promql, q.start, q.end, q.step);
    if (!answer) {
      co_return upstream_failure(request, answer.error());
    }
    const auto labels = series_labels(*metric);
    std::sort(answer->begin(), answer->end(),
              [&](const PromSeries& a, const PromSeries& b) { return key_of(a, labels) < key_of(b, labels); });
    json::array series;
    for (const auto& s : *answer) {
      json::object entry;
      for (const auto& l : labels) {
        entry[l] = s.label(l);
      }
      json::array points;
      for (const auto& [t, v] : s.points) {
        // A range query's points are all before end; the limit holds by construction of the step.
        points.push_back(json::array{json_number(t), json_number(v)});
      }
      entry["points"] = std::move(points);
      series.push_back(std::move(entry));
    }
    out["limit"] = req.limit;
    out["step"] = q.step;
    out["series"] = std::move(series);
    co_return json_reply(request, out);
  }
  const InstantQuery q = totals_query(*metric, req, scope);
  auto answer = co_await client_->query(q.promql, q.time_ms);
  if (!answer) {
    co_return upstream_failure(request, answer.error());
  }
  const auto labels = total_labels(*metric, req.agg);
  std::sort(answer->begin(), answer->end(),
            [&](const PromSeries& a, const PromSeries& b) { return key_of(a, labels) < key_of(b, labels); });
  json::array totals;
  for (const auto& s : *answer) {
    json::object entry;
    for (const auto& l : labels) {
      entry[l] = s.label(l);
    }
    entry["value"] = s.points.empty() ? json::value(nullptr) : json_number(s.points.front().second);
    totals.push_back(std::move(entry));
  }
  out["aggregate"] = aggregate_name(metric->level == MetricLevel::node ? MetricKind::gauge : metric->kind);
  out["totals"] = std::move(totals);
  co_return json_reply(request, out);
}

asio::awaitable<Reply> Api::accounting_reply(const Request& request, const http::RequestInfo& info) {
  if (!client_) {
    co_return json_error(request, status::service_unavailable, "api_disabled",
                         "the usage API is off: the aggregator was started without --prometheus-url");
  }
  Access access;
  if (authenticate_) {
    auto who = authenticate_(request, info);
    if (auto* refusal = std::get_if<http::Response>(&who)) {
      co_return Reply{std::move(*refusal), {}};
    }
    access = std::get<Access>(std::move(who));
  }
  if (request.method() != beast::http::verb::get && request.method() != beast::http::verb::head) {
    co_return method_not_allowed(request, "GET");
  }
  auto parsed = parse_accounting_request([&](std::string_view name) { return http::query_param(request, name); },
                                         clock_.now(), options_.max_range);
  if (!parsed) {
    co_return json_error(request, status::bad_request, "bad_request", parsed.error().message);
  }
  const AccountingRequest& req = *parsed;
  NamespaceScope scope = scope_for(access);
  if (req.ns) {
    if (!access.allows(*req.ns)) {
      co_return json_error(request, status::forbidden, "forbidden",
                           "user " + access.user + " may not see namespace " + *req.ns);
    }
    scope.only = req.ns;
  }
  const AccountingQueries queries = accounting_queries(req, scope, options_.billing_step);
  std::map<std::vector<std::string>, AccountingRow> rows;
  const std::pair<const InstantQuery*, double AccountingRow::*> figures[] = {
      {&queries.cpu_used, &AccountingRow::cpu_used},
      {&queries.cpu_requested, &AccountingRow::cpu_requested},
      {&queries.cpu_billable, &AccountingRow::cpu_billable},
      {&queries.memory_used, &AccountingRow::memory_used},
      {&queries.memory_requested, &AccountingRow::memory_requested},
      {&queries.memory_billable, &AccountingRow::memory_billable},
      {&queries.gpu, &AccountingRow::gpu},
  };
  // The seven queries at once: a month over a large cluster takes Prometheus a while for each.
  using namespace asio::experimental::awaitable_operators;
  const auto ask = [&](std::size_t i) { return client_->query(figures[i].first->promql, figures[i].first->time_ms); };
  auto [a0, a1, a2, a3, a4, a5, a6] = co_await (ask(0) && ask(1) && ask(2) && ask(3) && ask(4) && ask(5) && ask(6));
  PromResult<std::vector<PromSeries>>* answers[] = {&a0, &a1, &a2, &a3, &a4, &a5, &a6};
  for (std::size_t i = 0; i < std::size(figures); ++i) {
    const auto& answer = *answers[i];
    const auto field = figures[i].second;
    if (!answer) {
      co_return upstream_failure(request, answer.error());
    }
    for (const auto& s : *answer) {
      std::vector<std::string> keys;
      for (const auto& l : queries.labels) {
        keys.push_back(s.label(l));
      }
      auto& row = rows[keys];
      row.keys = keys;
      const double v = s.points.empty() ? 0.0 : s.points.front().second;
      row.*field = std::isfinite(v) ? v : 0.0;
    }
  }
  std::vector<AccountingRow> ordered;
  ordered.reserve(rows.size());
  for (auto& [keys, row] : rows) {
    ordered.push_back(std::move(row));
  }
  if (req.format == AccountingFormat::csv) {
    auto response =
        http::make_response(request, status::ok, accounting_csv(queries.labels, ordered), "text/csv; charset=utf-8");
    std::string name = "nodepack-accounting-" + format_api_time(req.from) + "-" + format_api_time(req.to) + ".csv";
    std::replace(name.begin(), name.end(), ':', '-');
    response.set(beast::http::field::content_disposition, "attachment; filename=\"" + name + "\"");
    response.set(beast::http::field::cache_control, "no-store");
    http::maybe_gzip(request, response);
    co_return Reply{std::move(response), {}};
  }
  json::array out_rows;
  for (const auto& row : ordered) {
    json::object entry;
    for (std::size_t i = 0; i < queries.labels.size(); ++i) {
      entry[queries.labels[i]] = row.keys[i];
    }
    entry["cpu_core_hours_used"] = json_number(row.cpu_used);
    entry["cpu_core_hours_requested"] = json_number(row.cpu_requested);
    entry["cpu_core_hours_billable"] = json_number(row.cpu_billable);
    entry["memory_gib_hours_used"] = json_number(row.memory_used);
    entry["memory_gib_hours_requested"] = json_number(row.memory_requested);
    entry["memory_gib_hours_billable"] = json_number(row.memory_billable);
    entry["gpu_hours"] = json_number(row.gpu);
    out_rows.push_back(std::move(entry));
  }
  json::object out{{"from", format_api_time(req.from)},
                   {"to", format_api_time(req.to)},
                   {"by", req.by == AccountingBy::pod ? "pod" : "namespace"},
                   {"step", queries.step},
                   {"rows", std::move(out_rows)}};
  co_return json_reply(request, out);
}

}  // namespace nodepack::billing
