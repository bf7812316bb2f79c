#pragma once

// The usage API's HTTP handlers: POST /api/<metric> (Kube-App), GET /api/v1/accounting and the
// catalogue at GET /api. Every handler is asynchronous (it waits on Prometheus without holding up
// the serving thread), authenticates first and answers errors as JSON {"error", "reason"}.
// Shapes: README.md in this directory.

#include "aggregator/billing/prometheus_client.hpp"
#include "aggregator/billing/queries.hpp"
#include "common/clock.hpp"
#include "http/server.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace nodepack::billing {

// Who is asking, as far as the API cares: the namespaces they may see (empty: all).
struct Access {
  std::string user;
  std::vector<std::string> namespaces;
  bool allows(std::string_view ns) const;
  bool restricted() const { return !namespaces.empty(); }
};

// Checks a request's credentials: who it is, or the ready-made reply (401, 429) to send. Kept as a
// function so this code does not depend on how authentication is configured.
using Authenticate =
    std::function<std::variant<Access, http::Response>(const http::Request&, const http::RequestInfo&)>;

// What the API answered, for the aggregator's /metrics.
struct ApiStats {
  std::atomic<std::uint64_t> ok{0};                   // 2xx
  std::atomic<std::uint64_t> refused{0};              // 4xx: bad requests, 401, 403, 404, 405, 429
  std::atomic<std::uint64_t> prometheus_failures{0};  // 502: Prometheus down, slow, or answering an error
  std::atomic<std::uint64_t> unavailable{0};          // other 5xx: API off (503), not collected (501)
};

struct ApiOptions {
  std::chrono::seconds max_range{400 * 24 * 3600};
  std::int64_t billing_step = 300;  // seconds
};

class Api {
 public:
  // `client` null: the API is off (--prometheus-url unset) and answers 503 saying so.
  Api(std::unique_ptr<PrometheusClient> client, ApiOptions options, const Clock& clock, Authenticate authenticate);
  ~Api();

  // Registers /api, /api/ (metrics), /api/v1/accounting. Exact routes others add under /api/ win.
  void add_routes(http::Router& router);

  boost::asio::awaitable<http::Reply> handle_metric(const http::Request& request, const http::RequestInfo& info);
  boost::asio::awaitable<http::Reply> handle_accounting(const http::Request& request, const http::RequestInfo& info);

  const ApiStats& stats() const { return stats_; }

 private:
  boost::asio::awaitable<http::Reply> metric_reply(const http::Request& request, const http::RequestInfo& info);
  boost::asio::awaitable<http::Reply> accounting_reply(const http::Request& request, const http::RequestInfo& info);
  void count(const http::Reply& reply);

  ApiStats stats_;
  std::unique_ptr<PrometheusClient> client_;
  ApiOptions options_;
  const Clock& clock_;
  Authenticate authenticate_;
};

// JSON {"error": error, "reason": reason} with `status`.
http::Reply json_error(const http::Request& request, boost::beast::http::status status, std::string_view error,
                       std::string_view reason);

// One accounting row: its keys (namespace[, pod]) and the seven figures.
struct AccountingRow {
  std::vector<std::string> keys;
  double cpu_used = 0;
  double cpu_requested = 0;
  double cpu_billable = 0;
  double memory_used = 0;
  double memory_requested = 0;
  double memory_billable = 0;
  double gpu = 0;
};
std::string accounting_csv(const std::vector<std::string>& key_names, const std::vector<AccountingRow>& rows);

}  // namespace nodepack::billing
