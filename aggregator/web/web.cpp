// The /web routes: the login flow, the authenticated page frames and the embedded static files.

#include "aggregator/web/web.hpp"

#include "aggregator/web/assets.hpp"
#include "aggregator/web/form.hpp"
#include "aggregator/web/pages.hpp"

#include <boost/json.hpp>

#include <memory>

namespace nodepack::web {
namespace {

namespace bhttp = boost::beast::http;
using http::Reply;
using http::Request;
using http::RequestInfo;
using http::Response;

constexpr std::string_view cookie_name = "nodepack_session";
// No inline script or style anywhere, so 'self' is all the pages need; frame-ancestors keeps the
// pages out of other sites' frames (clickjacking of the logout and download buttons).
constexpr std::string_view content_security_policy =
    "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

void set_security_headers(Response& response) {
  response.set("Content-Security-Policy", content_security_policy);
  response.set("X-Content-Type-Options", "nosniff");
  response.set("X-Frame-Options", "DENY");
  response.set("Referrer-Policy", "same-origin");
}

// Pages name the logged-in user and their namespaces, so neither the browser nor a proxy keeps them.
Reply html_reply(const Request& request, bhttp::status status, std::string body) {
  auto response = http::make_response(request, status, std::move(body), "text/html; charset=utf-8");
  set_security_headers(response);
  response.set(bhttp::field::cache_control, "no-store");
  http::maybe_gzip(request, response);
  return Reply{std::move(response), {}};
}

Reply redirect(const Request& request, std::string location) {
  auto response = http::make_response(request, bhttp::status::see_other, "", "text/plain; charset=utf-8");
  response.set(bhttp::field::location, location);
  set_security_headers(response);
  response.set(bhttp::field::cache_control, "no-store");
  return Reply{std::move(response), {}};
}

Reply method_not_allowed(const Request& request, std::string_view allow) {
  auto reply =
      html_reply(request, bhttp::status::method_not_allowed,
                 message_page(nullptr, "Method not allowed", "This address answers " + std::string(allow) + "."));
  reply.response.set(bhttp::field::allow, allow);
  return reply;
}

bool is_get(const Request& request) {
  return request.method() == bhttp::verb::get || request.method() == bhttp::verb::head;
}

// Namespace names are DNS labels; anything else in the path is not a namespace.
bool is_namespace_name(std::string_view s) {
  if (s.empty() || s.size() > 63 || s.front() == '-' || s.back() == '-') {
    return false;
  }
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
      return false;
    }
  }
  return true;
}

// Session tokens go into a header verbatim; anything outside the cookie-value characters would
// break it (or split it).
bool is_cookie_safe(std::string_view s) {
  if (s.empty()) {
    return false;
  }
  for (char c : s) {
    if (c < 0x21 || c > 0x7e || c == '"' || c == ',' || c == ';' || c == '\\') {
      return false;
    }
  }
  return true;
}

std::string reason_of(const Response& refusal) {
  boost::system::error_code ec;
  const auto value = boost::json::parse(refusal.body(), ec);
  if (!ec && value.is_object()) {
    const auto& object = value.as_object();
    for (const char* key : {"reason", "error"}) {
      if (const auto* v = object.if_contains(key); v != nullptr && v->is_string()) {
        return std::string(v->as_string());
      }
    }
  }
  return "The request was refused (HTTP " + std::to_string(refusal.result_int()) + ").";
}

class Web {
 public:
  explicit Web(WebDeps deps) : deps_(std::move(deps)) {}

  // `request` and `info` belong to the caller, which awaits this at once.
  boost::asio::awaitable<Reply> handle(const Request& request, const RequestInfo& info) const {
    const std::string_view path = http::target_path(request);
    if (path.starts_with("/web/static/")) {
      co_return static_asset(request, path.substr(12));
    }
    if (path == "/web/login") {
      co_return co_await login(request, info);
    }
    if (path == "/web/logout" && request.method() == bhttp::verb::post) {
      co_return logout(request);
    }
    if (!is_get(request)) {
      co_return method_not_allowed(request, path == "/web/logout" ? "GET, HEAD, POST" : "GET, HEAD");
    }
    auto who = co_await deps_.authenticate(request, info);
    if (auto* refusal = std::get_if<Response>(&who)) {
      co_return refused(request, *refusal);
    }
    co_return page(request, path, std::get<Viewer>(who));
  }

 private:
  Reply page(const Request& request, std::string_view path, const Viewer& principal) const {
    PageFrame frame{principal.user, &deps_.metrics, "", "", principal.namespaces};
    if (path == "/web" || path == "/web/") {
      return redirect(request, default_page(principal));
    }
    if (path == "/web/logout") {
      return html_reply(request, bhttp::status::ok, logout_page(frame));
    }
    if (path == "/web/accounting") {
      frame.current = "accounting";
      return html_reply(request, bhttp::status::ok, accounting_page(frame));
    }
    if (path == "/web/topology") {
      frame.current = "topology";
      return html_reply(request, bhttp::status::ok, topology_page(frame));
    }
    if (path.starts_with("/web/stats/")) {
      return stats(request, frame, path.substr(11));
    }
    return html_reply(request, bhttp::status::not_found,
                      message_page(&frame, "Not found", "There is no page at " + std::string(path) + "."));
  }

  Reply static_asset(const Request& request, std::string_view name) const {
    if (!is_get(request)) {
      return method_not_allowed(request, "GET, HEAD");
    }
    const Asset* asset = find_asset(name);
    if (asset == nullptr) {
      auto response = http::make_response(request, bhttp::status::not_found, "no such file\n");
      set_security_headers(response);
      return Reply{std::move(response), {}};
    }
    // Pages link assets with ?v=<hash>: such a URL never changes content, so it is cached for
    // good; a bare URL is revalidated with the ETag.
    const std::string version = http::query_param(request, "v");
    const bool versioned = !version.empty() && "\"" + version + "\"" == asset->etag;
    const auto cache = versioned ? "public, max-age=31536000, immutable" : "no-cache";
    const auto match = request.find(bhttp::field::if_none_match);
    if (match != request.end() && match->value() == asset->etag) {
      auto response = http::make_response(request, bhttp::status::not_modified, "", asset_content_type(name));
      response.set(bhttp::field::etag, asset->etag);
      response.set(bhttp::field::cache_control, cache);
      set_security_headers(response);
      return Reply{std::move(response), {}};
    }
    auto response = http::make_response(request, bhttp::status::ok, std::string(asset->body), asset_content_type(name));
    response.set(bhttp::field::etag, asset->etag);
    response.set(bhttp::field::cache_control, cache);
    set_security_headers(response);
    http::maybe_gzip(request, response);
    return Reply{std::move(response), {}};
  }

  boost::asio::awaitable<Reply> login(const Request& request, const RequestInfo& info) const {
    if (is_get(request)) {
      const std::string next = http::query_param(request, "next");
      co_return html_reply(request, bhttp::status::ok, login_page("", "", is_local_web_target(next) ? next : ""));
    }
    if (request.method() != bhttp::verb::post) {
      co_return method_not_allowed(request, "GET, HEAD, POST");
    }
    if (!same_origin_or_absent(request)) {
      co_return html_reply(request, bhttp::status::forbidden,
                           login_page("The login form was posted from another site.", "", ""));
    }
    auto form = parse_form(request.body());
    const std::string user = form["user"];
    const std::string next = is_local_web_target(form["next"]) ? form["next"] : "";
    if (user.empty() || form["password"].empty()) {
      co_return html_reply(request, bhttp::status::bad_request, login_page("Enter a user and a password.", user, next));
    }
    auto outcome = co_await deps_.login(user, std::move(form["password"]), info);
    co_return login_reply(request, outcome, user, next);
  }

  Reply login_reply(const Request& request, const LoginOutcome& outcome, const std::string& user,
                    const std::string& next) const {
    if (const auto* refusal = std::get_if<LoginRefusal>(&outcome)) {
      if (refusal->retry_after.count() > 0) {
        const auto status = refusal->busy ? bhttp::status::service_unavailable : bhttp::status::too_many_requests;
        auto reply = html_reply(request, status, login_page(refusal->message, user, next));
        reply.response.set(bhttp::field::retry_after, std::to_string(refusal->retry_after.count()));
        return reply;
      }
      return html_reply(request, bhttp::status::unauthorized, login_page(refusal->message, user, next));
    }
    const auto* token = std::get_if<std::string>(&outcome);
    if (!is_cookie_safe(*token)) {
      return html_reply(request, bhttp::status::internal_server_error,
                        login_page("The server made a session it cannot put in a cookie.", user, next));
    }
    auto reply = redirect(request, next.empty() ? "/web" : next);
    std::string cookie = std::string(cookie_name) + "=" + *token + "; Path=/; HttpOnly; SameSite=Strict";
    if (deps_.secure_cookie) {
      cookie += "; Secure";
    }
    reply.response.set(bhttp::field::set_cookie, cookie);
    return reply;
  }

  Reply logout(const Request& request) const {
    if (!same_origin_or_absent(request)) {
      return html_reply(request, bhttp::status::forbidden,
                        message_page(nullptr, "Not logged out", "The logout form was posted from another site."));
    }
    if (auto token = cookie_value(request, cookie_name); token && !token->empty()) {
      deps_.logout(*token);
    }
    auto reply = redirect(request, "/web/login");
    std::string cookie = std::string(cookie_name) + "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict";
    if (deps_.secure_cookie) {
      cookie += "; Secure";
    }
    reply.response.set(bhttp::field::set_cookie, cookie);
    return reply;
  }

  // Not logged in (or the session ended): to the login form, coming back here afterwards. Any
  // other refusal (rate limited, busy) is shown with its reason and keeps its status and
  // Retry-After.
  Reply refused(const Request& request, const Response& refusal) const {
    if (refusal.result() == bhttp::status::unauthorized) {
      const std::string_view target = request.target();
      return redirect(request,
                      is_local_web_target(target) ? "/web/login?next=" + url_encode_path(target) : "/web/login");
    }
    auto reply = html_reply(request, refusal.result(), message_page(nullptr, "Refused", reason_of(refusal)));
    if (auto retry = refusal.find(bhttp::field::retry_after); retry != refusal.end()) {
      reply.response.set(bhttp::field::retry_after, retry->value());
    }
    return reply;
  }

  std::string default_page(const Viewer& principal) const {
    std::string page = "/web/accounting";
    for (const auto& m : deps_.metrics) {
      if (m.main) {
        page = "/web/stats/" + m.name;
        break;
      }
    }
    if (!principal.namespaces.empty() && page != "/web/accounting") {
      page += "/" + url_encode_path(principal.namespaces.front());
    }
    return page;
  }

  // rest is "<metric>" or "<metric>/<namespace>"; metric names have slashes of their own, so the
  // longest known metric that the path starts with is the one.
  Reply stats(const Request& request, PageFrame& frame, std::string_view rest) const {
    const MetricInfo* metric = nullptr;
    for (const auto& m : deps_.metrics) {
      if ((rest == m.name || rest.starts_with(m.name + "/")) &&
          (metric == nullptr || m.name.size() > metric->name.size())) {
        metric = &m;
      }
    }
    if (metric == nullptr) {
      const std::string hint = deps_.unknown_metric_hint ? deps_.unknown_metric_hint(rest) : "";
      return html_reply(request, bhttp::status::not_found,
                        message_page(&frame, "Unknown metric",
                                     hint.empty() ? "There is no metric \"" + std::string(rest) +
                                                        "\". The sidebar lists every metric there is."
                                                  : hint));
    }
    frame.current = metric->name;
    std::string_view ns = rest.substr(metric->name.size());
    if (!ns.empty()) {
      ns.remove_prefix(1);
    }
    if (ns.ends_with('/')) {
      ns.remove_suffix(1);
    }
    if (!ns.empty() && !is_namespace_name(ns)) {
      return html_reply(request, bhttp::status::not_found,
                        message_page(&frame, "Not a namespace",
                                     "\"" + std::string(ns) +
                                         "\" is not a namespace name (lowercase letters, digits "
                                         "and '-', at most 63)."));
    }
    if (ns.empty() && !frame.namespaces.empty()) {
      // A user restricted to some namespaces has no all-namespaces view: show the first of theirs.
      const std::string_view target = request.target();
      const auto query = target.find('?');
      return redirect(request, "/web/stats/" + metric->name + "/" + url_encode_path(frame.namespaces.front()) +
                                   (query == std::string_view::npos ? "" : std::string(target.substr(query))));
    }
    frame.namespace_name = std::string(ns);
    return html_reply(request, bhttp::status::ok, stats_page(frame, *metric));
  }

  WebDeps deps_;
};

}  // namespace

void add_web_routes(http::Router& router, WebDeps deps) {
  auto web = std::make_shared<const Web>(std::move(deps));
  // The Web object lives as long as the router's copy of this handler, so the member coroutine's
  // `this` outlives every request.
  auto handler = [web](const Request& request, const RequestInfo& info) { return web->handle(request, info); };
  router.add_async("/web", handler);
  router.add_async_prefix("/web/", handler);
}

}  // namespace nodepack::web
