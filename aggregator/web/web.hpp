#pragma once

// The web UI under /web: a login form, a chart page per metric (usage against requests over a
// chosen range, per namespace or per pod) and the accounting table with its CSV download.
//
// The server renders only the page frame (sidebar, headings, the page's parameters as data-
// attributes); the scripts under /web/static/ fetch the JSON API from the same origin and draw.
// Everything the pages need is compiled into the binary, so the UI works air-gapped and behind
// `kubectl port-forward`. No inline script or style anywhere, so the pages can be served with
// Content-Security-Policy default-src 'self'.
//
// The web code does not know how users are configured: WebDeps carries the three calls it needs
// (aggregator/auth's Authenticator provides them). Checking a password takes a slow hash, so login
// and authenticate are awaited: the serving thread answers other requests meanwhile.

#include "common/result.hpp"
#include "http/server.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace nodepack::web {

// Who is looking, as far as the pages care (the caller maps its authenticator's principal).
struct Viewer {
  std::string user;
  std::vector<std::string> namespaces;  // the namespaces they may see; empty: all
};

// A metric the sidebar lists and the chart page can draw (the names of POST /api/<metric>).
struct MetricInfo {
  std::string name;            // "cpu/usage_rate"
  std::string description;     // one line, shown under the chart's title
  std::string unit;            // how the page formats values: millicores, bytes, megabytes, ratio,
                               // bytes_per_second, per_second, count, milliseconds, seconds
  bool main = false;           // listed first: the metrics that count for accounting
  std::string request_metric;  // drawn dashed against this one ("cpu/request"), or ""
};

// The seed's two tables (Kube-App): the main metrics and every available one.
std::vector<MetricInfo> seed_metrics();

// A refused login. The message is shown on the login form (so it must not say which half was
// wrong); retry_after above zero means the attempt was not checked: rate-limited (the form answers
// 429 with Retry-After instead of 401) or, with busy, the server had too many passwords to check
// (503 with Retry-After).
struct LoginRefusal {
  std::string message;
  std::chrono::seconds retry_after{0};
  bool busy = false;
};
// The session token, or why there is none.
using LoginOutcome = std::variant<std::string, LoginRefusal>;

struct WebDeps {
  // Checks a password and makes a session; the token goes in the nodepack_session cookie.
  std::function<boost::asio::awaitable<LoginOutcome>(std::string user, std::string password, const http::RequestInfo&)>
      login;
  std::function<void(std::string_view session_token)> logout;
  // The request's principal, or the reply to refuse it with (pages redirect to the login form
  // instead of sending a 401; a 429 or 503 is passed on as it is). `request` outlives the wait.
  std::function<boost::asio::awaitable<std::variant<Viewer, http::Response>>(const http::Request&,
                                                                             const http::RequestInfo&)>
      authenticate;
  std::vector<MetricInfo> metrics = seed_metrics();
  // For a metric name that does not exist, a sentence naming the one meant, or "" (the aggregator
  // passes the usage API's billing::unknown_metric_hint).
  std::function<std::string(std::string_view)> unknown_metric_hint;
  // Marks the session cookie Secure: the browser then sends it over HTTPS only. The aggregator sets
  // it when it serves TLS itself or is told it sits behind a TLS proxy (--auth.secure-cookie).
  bool secure_cookie = false;
};

// Registers /web, /web/login, /web/logout, /web/stats/<metric>[/<namespace>], /web/accounting,
// /web/topology and /web/static/<asset>.
void add_web_routes(http::Router& router, WebDeps deps);

}  // namespace nodepack::web
