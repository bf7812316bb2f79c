// The /web routes without a browser: the login flow and its cookie, redirects of pages that need
// a login, the page frames, and the static files with their headers.

#include "aggregator/web/assets.hpp"
#include "aggregator/web/web.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <catch2/catch.hpp>

#include <map>
#include <optional>
#include <set>

using namespace nodepack;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;

namespace {

// The fake answers at once; the web code awaits it as it awaits the real, hashing authenticator.
template <class T>
net::awaitable<T> ready(T value) {
  co_return value;
}

// Users alice (every namespace) and bob (team-b only); "mallory" is rate-limited; "crowd" finds
// the password-hashing queue full.
struct FakeAuth {
  std::map<std::string, std::string> passwords{{"alice", "secret"}, {"bob", "hunter2"}};
  std::map<std::string, web::Viewer> sessions;
  std::vector<std::string> logged_out;
  int logins = 0;

  web::WebDeps deps() {
    web::WebDeps d;
    d.login = [this](std::string user, std::string password, const http::RequestInfo&) {
      return ready(login(user, password));
    };
    d.logout = [this](std::string_view token) {
      logged_out.emplace_back(token);
      sessions.erase(std::string(token));
    };
    d.authenticate = [this](const http::Request& r, const http::RequestInfo&) { return ready(authenticate(r)); };
    return d;
  }

  web::LoginOutcome login(const std::string& user, const std::string& password) {
    ++logins;
    if (user == "mallory") {
      return web::LoginRefusal{"too many failed attempts; try again in 30 s", std::chrono::seconds{30}};
    }
    if (user == "crowd") {
      return web::LoginRefusal{"too many passwords at once; try again in 1 s", std::chrono::seconds{1}, true};
    }
    auto it = passwords.find(user);
    if (it == passwords.end() || it->second != password) {
      return web::LoginRefusal{"Wrong user or password.", std::chrono::seconds{0}};
    }
    const std::string token = "tok-" + user;
    sessions[token] =
        web::Viewer{user, user == "bob" ? std::vector<std::string>{"team-b", "team-c"} : std::vector<std::string>{}};
    return token;
  }

  std::variant<web::Viewer, http::Response> authenticate(const http::Request& r) {
    if (r[bhttp::field::cookie].find("tok-mallory") != std::string_view::npos) {
      auto response = http::make_response(r, bhttp::status::too_many_requests,
                                          R"({"error":"rate_limited","reason":"too many failed logins; retry in 30s"})",
                                          "application/json");
      response.set(bhttp::field::retry_after, "30");
      return response;
    }
    for (const auto& [token, principal] : sessions) {
      if (r[bhttp::field::cookie].find("nodepack_session=" + token) != std::string_view::npos) {
        return principal;
      }
    }
    return http::make_response(r, bhttp::status::unauthorized, R"({"error":"unauthorized","reason":"no credentials"})",
                               "application/json");
  }
};

http::Response call(const http::Router& router, http::Request request) {
  request.set(bhttp::field::host, "127.0.0.1:9101");
  request.prepare_payload();
  net::io_context io;
  std::optional<http::Reply> out;
  net::co_spawn(
      io, [&]() -> net::awaitable<void> { out = co_await router.route_async(request, http::RequestInfo{}); },
      net::detached);
  io.run();
  REQUIRE(out.has_value());
  return std::move(out->response);
}

http::Request get(std::string target, std::string cookie = "") {
  http::Request r{bhttp::verb::get, target, 11};
  if (!cookie.empty()) {
    r.set(bhttp::field::cookie, cookie);
  }
  return r;
}

http::Request post_form(std::string target, std::string body) {
  http::Request r{bhttp::verb::post, target, 11};
  r.set(bhttp::field::content_type, "application/x-www-form-urlencoded");
  r.body() = std::move(body);
  return r;
}

std::string header(const http::Response& r, bhttp::field f) { return std::string(r[f]); }

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

void check_page_headers(const http::Response& r) {
  CHECK(header(r, bhttp::field::content_type) == "text/html; charset=utf-8");
  CHECK(std::string(r["Content-Security-Policy"]) ==
        "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
  CHECK(r["X-Content-Type-Options"] == "nosniff");
  CHECK(r["X-Frame-Options"] == "DENY");
  CHECK(header(r, bhttp::field::cache_control) == "no-store");
  // Nothing inline: the CSP would block it.
  CHECK_FALSE(contains(r.body(), "<script>"));
  CHECK_FALSE(contains(r.body(), "<style"));
  CHECK_FALSE(contains(r.body(), "style=\""));
  CHECK_FALSE(contains(r.body(),
                       " on"
                       "click="));
}

}  // namespace

TEST_CASE("the login form is served to anyone, with the page headers") {
  FakeAuth fake;
  http::Router router;
  web::add_web_routes(router, fake.deps());
  auto r = call(router, get("/web/login"));
  CHECK(r.result() == bhttp::status::ok);
  check_page_headers(r);
  CHECK(contains(r.body(), R"(<form method="post" action="/web/login" id="login">)"));
  CHECK(contains(r.body(), R"(name="password" type="password")"));
  CHECK_FALSE(contains(r.body(), "name=\"next\""));
  // A next target under /web is carried in the form; anything else is dropped.
  auto with_next = call(router, get("/web/login?next=%2Fweb%2Faccounting%3Frange%3D7d"));
  CHECK(contains(with_next.body(), R"(<input type="hidden" name="next" value="/web/accounting?range=7d">)"));
  auto evil = call(router, get("/web/login?next=%2F%2Fevil.example%2F"));
  CHECK_FALSE(contains(evil.body(), "evil.example"));
}

TEST_CASE("a right password sets the session cookie and redirects") {
  FakeAuth fake;
  http::Router router;
  web::add_web_routes(router, fake.deps());
  auto r = call(router, post_form("/web/login", "user=alice&password=secret"));
  CHECK(r.result() == bhttp::status::see_other);
  CHECK(header(r, bhttp::field::location) == "/web");
  CHECK(header(r, bhttp::field::set_cookie) == "nodepack_session=tok-alice; Path=/; HttpOnly; SameSite=Strict");
  CHECK(header(r, bhttp::field::cache_control) == "no-store");

  SECTION("back to where the login started") {
    auto next = call(router, post_form("/web/login", "user=alice&password=secret&next=%2Fweb%2Fstats%2Fgpu%2Fusage"));
    CHECK(header(next, bhttp::field::location) == "/web/stats/gpu/usage");
    auto evil =
        call(router, post_form("/web/login", "user=alice&password=secret&next=https%3A%2F%2Fevil.example%2Fweb"));
    CHECK(header(evil, bhttp::field::location) == "/web");
  }
  SECTION("Secure when served over TLS") {
    http::Router tls_router;
    auto deps = fake.deps();
    deps.secure_cookie = true;
    web::add_web_routes(tls_router, std::move(deps));
    auto secure = call(tls_router, post_form("/web/login", "user=alice&password=secret"));
    CHECK(header(secure, bhttp::field::set_cookie) ==
          "nodepack_session=tok-alice; Path=/; HttpOnly; SameSite=Strict; Secure");
  }
}

TEST_CASE("a wrong password shows the error on the form and sets no cookie") {
  FakeAuth fake;
  http::Router router;
  web::add_web_routes(router, fake.deps());
  auto r = call(router, post_form("/web/login", "user=%3Cb%3Ealice&password=nope"));
  CHECK(r.result() == bhttp::status::unauthorized);
  check_page_headers(r);
  CHECK(r.count(bhttp::field::set_cookie) == 0);
  CHECK(contains(r.body(), R"(<p class="error" id="error" role="alert">Wrong user or password.</p>)"));
  // The user name is kept in the form, escaped.
  CHECK(contains(r.body(), R"(value="&lt;b&gt;alice")"));
  CHECK_FALSE(contains(r.body(), "<b>alice"));

  auto empty = call(router, post_form("/web/login", "user=alice&password="));
  CHECK(empty.result() == bhttp::status::bad_request);
  CHECK(contains(empty.body(), "Enter a user and a password."));
  CHECK(fake.logins == 1);  // an empty password never reaches the password check
}

TEST_CASE("a rate-limited login answers 429 with Retry-After on the form") {
  FakeAuth fake;
  http::Router router;
  web::add_web_routes(router, fake.deps());
  auto r = call(router, post_form("/web/login", "user=mallory&password=guess"));
  CHECK(r.result() == bhttp::status::too_many_requests);
  CHECK(header(r, bhttp::field::retry_after) == "30");
  check_page_headers(r);
  CHECK(r.count(bhttp::field::set_cookie) == 0);
  CHECK(contains(r.body(),
                 R"(<p class="error" id="error" role="alert">too many failed attempts; try again in 30 s</p>)"));
  CHECK(contains(r.body(), R"(value="mallory")"));
}

TEST_CASE("a login the server has no room to check answers 503 with Retry-After on the form") {
  FakeAuth fake;
  http::Router router;
  web::add_web_routes(router, fake.deps());
  auto r = call(router, post_form("/web/login", "user=crowd&password=guess"));
  CHECK(r.result() == bhttp::status::service_unavailable);
  CHECK(header(r, bhttp::field::retry_after) == "1");
  check_page_headers(r);
  CHECK(r.count(bhttp::field::set_cookie) == 0);
  CHECK(contains(r.body(),
                 R"(<p class="error" id="error" role="alert">too many passwords at once; try again in 1 s</p>)"));
  CHECK(contains(r.body(), R"(value="crowd")"));
}

TEST_CASE("a login form posted from another site is refused before the password check") {
  FakeAuth fake;
  http::Router router;
  web::add_web_routes(router, fake.deps());
  auto request = post_form("/web/login", "user=alice&password=secret");
  request.set(bhttp::field::origin, "http://evil.example");
  auto r = call(router, request);
  CHECK(r.result() == bhttp::status::forbidden);
  CHECK(r.count(bhttp::field::set_cookie) == 0);
  CHECK(fake.logins == 0);
  auto put = post_form("/web/login", "");
  put.method(bhttp::verb::put);
  CHECK(call(router, put).result() == bhttp::status::method_not_allowed);
}

TEST_CASE("logout ends the session and clears the cookie") {
  FakeAuth fake;
  http::Router router;
  web::add_web_routes(router, fake.deps());
  call(router, post_form("/web/login", "user=alice&password=secret"));
  REQUIRE(call(router, get("/web/accounting", "nodepack_session=tok-alice")).result() == bhttp::status::ok);
  auto logout = post_form("/web/logout", "");
  logout.set(bhttp::field::cookie, "nodepack_session=tok-alice");
  auto r = call(router, logout);
  CHECK(r.result() == bhttp::status::see_other);
  CHECK(header(r, bhttp::field::location) == "/web/login");
  CHECK(header(r, bhttp::field::set_cookie) == "nodepack_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
  CHECK(fake.logged_out == std::vector<std::string>{"tok-alice"});
  // The old cookie no longer opens pages.
  auto after = call(router, get("/web/accounting", "nodepack_session=tok-alice"));
  CHECK(after.result() == bhttp::status::see_other);
  CHECK(header(after, bhttp::field::location) == "/web/login?next=/web/accounting");
  // GET shows a confirmation form rather than logging out (a link elsewhere cannot log you out).
  call(router, post_form("/web/login", "user=alice&password=secret"));
  auto confirm = call(router, get("/web/logout", "nodepack_session=tok-alice"));
  CHECK(confirm.result() == bhttp::status::ok);
  CHECK(contains(confirm.body(), R"(<form method="post" action="/web/logout">)"));
  CHECK(fake.logged_out.size() == 1);
}

TEST_CASE("pages that need a login redirect to the login form, coming back afterwards") {
  FakeAuth fake;
  http::Router router;
  web::add_web_routes(router, fake.deps());
  for (const auto& [target, location] : std::vector<std::pair<std::string, std::string>>{
           {"/web", "/web/login?next=/web"},
           {"/web/", "/web/login?next=/web/"},
           {"/web/accounting", "/web/login?next=/web/accounting"},
           {"/web/stats/cpu/usage_rate/team-a?range=6h",
            "/web/login?next=/web/stats/cpu/usage_rate/team-a%3Frange%3D6h"},
           {"/web/nope", "/web/login?next=/web/nope"}}) {
    INFO(target);
    auto r = call(router, get(target, "nodepack_session=forged"));
    CHECK(r.result() == bhttp::status::see_other);
    CHECK(header(r, bhttp::field::location) == location);
    CHECK(r.body().empty());
  }
  // The assets (style for the login form) need no login.
  CHECK(call(router, get("/web/static/style.css")).result() == bhttp::status::ok);
}

TEST_CASE("a refusal other than 401 is shown with its reason and status") {
  FakeAuth fake;
  http::Router router;
  web::add_web_routes(router, fake.deps());
  auto r = call(router, get("/web/accounting", "nodepack_session=tok-mallory"));
  CHECK(r.result() == bhttp::status::too_many_requests);
  CHECK(header(r, bhttp::field::retry_after) == "30");
  check_page_headers(r);
  CHECK(contains(r.body(), "too many failed logins; retry in 30s"));
}

TEST_CASE("the chart page frames the metric and the namespace") {
  FakeAuth fake;
  http::Router router;
  web::add_web_routes(router, fake.deps());
  call(router, post_form("/web/login", "user=alice&password=secret"));
  const std::string alice = "nodepack_session=tok-alice";

  auto home = call(router, get("/web", alice));
  CHECK(home.result() == bhttp::status::see_other);
  CHECK(header(home, bhttp::field::location) == "/web/stats/cpu/usage_rate");

  auto r = call(router, get("/web/stats/cpu/usage_rate/team-a?range=6h", alice));
  CHECK(r.result() == bhttp::status::ok);
  check_page_headers(r);
  const auto& body = r.body();
  CHECK(contains(body, R"(<body data-page="stats" data-metric="cpu/usage_rate" data-unit="millicores" )"
                       R"(data-request-metric="cpu/request" data-namespace="team-a" data-namespaces="">)"));
  CHECK(contains(body, R"(<span class="user" id="user">alice</span>)"));
  CHECK(contains(body, "<title>cpu/usage_rate in namespace team-a \xc2\xb7 nodepack</title>"));
  // The sidebar keeps the namespace and marks the current metric.
  CHECK(contains(body, R"(<a href="/web/stats/cpu/usage_rate/team-a" class="active" aria-current="page")"));
  CHECK(contains(body, R"(<a href="/web/stats/memory/usage/team-a" title=)"));
  CHECK(contains(body, R"(<a href="/web/stats/uptime/team-a" title=)"));
  CHECK(contains(body, R"(<a href="/web/accounting">Accounting</a>)"));
  // Main metrics come before the others.
  CHECK(body.find("/web/stats/gpu/usage/") < body.find("/web/stats/cpu/limit/"));
  // Its scripts, each an embedded asset with its content hash.
  for (const char* script : {"common.js", "chart.js", "stats.js"}) {
    const auto* asset = web::find_asset(script);
    REQUIRE(asset != nullptr);
    const std::string tag = "<script src=\"/web/static/" + std::string(script) +
                            "?v=" + std::string(asset->etag.substr(1, asset->etag.size() - 2)) + "\" defer></script>";
    CHECK(contains(body, tag));
  }

  SECTION("metric names with and without a slash, with and without a namespace") {
    auto all = call(router, get("/web/stats/memory/working_set", alice));
    CHECK(all.result() == bhttp::status::ok);
    CHECK(contains(all.body(), R"(data-metric="memory/working_set")"));
    CHECK(contains(all.body(), R"(data-namespace="")"));
    CHECK(contains(all.body(), R"(<a href="/web/stats/cpu/usage_rate" title=)"));
    auto uptime = call(router, get("/web/stats/uptime/kube-system", alice));
    CHECK(contains(uptime.body(), R"(data-metric="uptime")"));
    CHECK(contains(uptime.body(), R"(data-namespace="kube-system")"));
    // cpu/usage is a prefix of cpu/usage_rate: the longer name wins.
    auto rate = call(router, get("/web/stats/cpu/usage_rate/", alice));
    CHECK(contains(rate.body(), R"(data-metric="cpu/usage_rate" )"));
    CHECK(contains(rate.body(), R"(data-namespace="")"));
    auto usage = call(router, get("/web/stats/cpu/usage/team-a", alice));
    CHECK(contains(usage.body(), R"(data-metric="cpu/usage" )"));
  }
  SECTION("unknown metrics and bad namespaces are 404 pages with the sidebar") {
    auto unknown = call(router, get("/web/stats/cpu/usage_ratio", alice));
    CHECK(unknown.result() == bhttp::status::not_found);
    CHECK(contains(unknown.body(), "There is no metric &quot;cpu/usage_ratio&quot;."));
    CHECK(contains(unknown.body(), R"(<nav class="sidebar")"));
    auto bad = call(router, get("/web/stats/cpu/usage_rate/%3Cscript%3E", alice));
    CHECK(bad.result() == bhttp::status::not_found);
    CHECK(contains(bad.body(), "is not a namespace name"));
    auto deep = call(router, get("/web/stats/cpu/usage_rate/a/b", alice));
    CHECK(deep.result() == bhttp::status::not_found);
    auto other = call(router, get("/web/elsewhere", alice));
    CHECK(other.result() == bhttp::status::not_found);
  }
  SECTION("pages answer GET and HEAD only") {
    auto request = get("/web/accounting", alice);
    request.method(bhttp::verb::post);
    auto r405 = call(router, request);
    CHECK(r405.result() == bhttp::status::method_not_allowed);
    CHECK(header(r405, bhttp::field::allow) == "GET, HEAD");
  }
}

TEST_CASE("a user restricted to namespaces starts in the first of them") {
  FakeAuth fake;
  http::Router router;
  web::add_web_routes(router, fake.deps());
  call(router, post_form("/web/login", "user=bob&password=hunter2"));
  const std::string bob = "nodepack_session=tok-bob";
  CHECK(header(call(router, get("/web", bob)), bhttp::field::location) == "/web/stats/cpu/usage_rate/team-b");
  auto all = call(router, get("/web/stats/memory/usage?range=7d", bob));
  CHECK(all.result() == bhttp::status::see_other);
  CHECK(header(all, bhttp::field::location) == "/web/stats/memory/usage/team-b?range=7d");
  auto page = call(router, get("/web/accounting", bob));
  CHECK(contains(page.body(), R"(<body data-page="accounting" data-namespaces="team-b,team-c">)"));
  CHECK(contains(page.body(), R"(<a class="button" id="download-csv" href="/api/v1/accounting?format=csv" download>)"));
  // The topology page: its script, the user's namespaces for the filter, the sidebar entry marked.
  auto topology = call(router, get("/web/topology", bob));
  CHECK(topology.result() == bhttp::status::ok);
  CHECK(contains(topology.body(), R"(<body data-page="topology" data-namespaces="team-b,team-c">)"));
  CHECK(contains(topology.body(), R"(<script src="/web/static/topology.js?v=)"));
  CHECK(contains(topology.body(), R"(<a href="/web/topology" class="active" aria-current="page">Topology</a>)"));
  CHECK(contains(topology.body(), R"(<select id="namespace-select">)"));
  CHECK(contains(topology.body(), R"(<div id="topology" class="topology"></div>)"));
}

TEST_CASE("static assets: content types, caching by content hash, CSP") {
  FakeAuth fake;
  http::Router router;
  web::add_web_routes(router, fake.deps());
  const std::map<std::string, std::string> types{{"style.css", "text/css; charset=utf-8"},
                                                 {"common.js", "text/javascript; charset=utf-8"},
                                                 {"chart.js", "text/javascript; charset=utf-8"},
                                                 {"stats.js", "text/javascript; charset=utf-8"},
                                                 {"accounting.js", "text/javascript; charset=utf-8"},
                                                 {"topology.js", "text/javascript; charset=utf-8"},
                                                 {"favicon.svg", "image/svg+xml"}};
  REQUIRE(web::embedded_assets().size() == types.size());
  for (const auto& [name, type] : types) {
    INFO(name);
    const auto* asset = web::find_asset(name);
    REQUIRE(asset != nullptr);
    CHECK_FALSE(asset->body.empty());
    auto r = call(router, get("/web/static/" + name));
    CHECK(r.result() == bhttp::status::ok);
    CHECK(header(r, bhttp::field::content_type) == type);
    CHECK(r["X-Content-Type-Options"] == "nosniff");
    CHECK(std::string(r["Content-Security-Policy"]).starts_with("default-src 'self'"));
    CHECK(header(r, bhttp::field::etag) == asset->etag);
    CHECK(header(r, bhttp::field::cache_control) == "no-cache");
    CHECK(r.body() == asset->body);
    const std::string hash(asset->etag.substr(1, asset->etag.size() - 2));
    CHECK(hash.size() == 16);
    auto versioned = call(router, get("/web/static/" + name + "?v=" + hash));
    CHECK(header(versioned, bhttp::field::cache_control) == "public, max-age=31536000, immutable");
    auto stale = call(router, get("/web/static/" + name + "?v=0000000000000000"));
    CHECK(header(stale, bhttp::field::cache_control) == "no-cache");
    auto request = get("/web/static/" + name);
    request.set(bhttp::field::if_none_match, asset->etag);
    auto revalidated = call(router, request);
    CHECK(revalidated.result() == bhttp::status::not_modified);
    CHECK(revalidated.body().empty());
  }
  // The embedded bytes are the checked-in files.
  CHECK(web::find_asset("common.js")->body.starts_with("// Shared by the web UI's pages"));
  CHECK(call(router, get("/web/static/nope.js")).result() == bhttp::status::not_found);
  CHECK(call(router, get("/web/static/../web.cpp")).result() == bhttp::status::not_found);
  auto post = get("/web/static/style.css");
  post.method(bhttp::verb::post);
  CHECK(call(router, post).result() == bhttp::status::method_not_allowed);
  CHECK(web::asset_content_type("x.png") == "image/png");
  CHECK(web::asset_content_type("README") == "application/octet-stream");
}

TEST_CASE("an aggregator without users shows the pages without a logout button") {
  web::WebDeps deps;
  deps.login = [](std::string, std::string, const http::RequestInfo&) {
    return ready<web::LoginOutcome>(web::LoginRefusal{"no users", std::chrono::seconds{0}});
  };
  deps.logout = [](std::string_view) {};
  deps.authenticate = [](const http::Request&, const http::RequestInfo&) {
    return ready<std::variant<web::Viewer, http::Response>>(web::Viewer{});
  };
  http::Router router;
  web::add_web_routes(router, std::move(deps));
  auto r = call(router, get("/web/accounting"));
  CHECK(r.result() == bhttp::status::ok);
  CHECK(contains(r.body(), R"(<span class="user" id="user">no login required</span>)"));
  CHECK_FALSE(contains(r.body(), "/web/logout"));
}
