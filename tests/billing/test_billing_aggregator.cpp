// The usage API, authentication, the web UI and TLS as `nodepack aggregator` wires them: the real
// Aggregator (over the fake API server), a users file, a fake Prometheus, requests over sockets;
// password checks that leave the serving thread free, and the session cookie's Secure flag.

#include "aggregator/auth/env_user.hpp"
#include "billing_harness.hpp"

#include "aggregator/aggregator.hpp"
#include "aggregator/auth/secrets.hpp"
#include "sim/fake_api_server.hpp"
#include "tests/http/test_certs.hpp"
#include "tests/support/temp_dir.hpp"

#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <catch2/catch.hpp>

#include <fstream>
#include <functional>
#include <thread>

using namespace nodepack;
using namespace nodepack::billing::test;
namespace bhttp = boost::beast::http;

namespace {

const char* vector_answer = R"({"status":"success","data":{"resultType":"vector","result":[
  {"metric":{"namespace":"beta"},"value":[1767231000,"1.25"]}]}})";

void write_file(const std::filesystem::path& path, const std::string& text) { std::ofstream(path) << text; }

struct AggregatorHarness {
  sim::FakeApiServer kube{sim::FakeApiOptions{"secret", 1000, std::chrono::milliseconds(60'000), 1, {}}};
  ManualClock clock{std::chrono::system_clock::time_point(std::chrono::seconds(1767231000))};
  std::unique_ptr<aggregator::Aggregator> aggregator;

  AggregatorHarness() { REQUIRE(kube.start().has_value()); }

  // `env_user`: what run_aggregator makes of API_USERNAME and API_PASSWORD.
  Result<void> start(std::vector<std::string> flags, std::optional<auth::UserEntry> env_user = std::nullopt) {
    // One static agent nobody listens to: the API does not need reports.
    std::vector<std::string> args{"--metrics-addr=127.0.0.1:0", "--agents=n1=127.0.0.1:1", "--log-format=text"};
    args.insert(args.end(), flags.begin(), flags.end());
    auto options = aggregator::parse_aggregator_options(args);
    REQUIRE(options.has_value());
    options->auth_env_user = std::move(env_user);
    kube::ClusterConfig cluster;
    cluster.server = kube.url();
    cluster.token = "secret";
    aggregator = std::make_unique<aggregator::Aggregator>(std::move(*options), cluster, clock);
    return aggregator->start();
  }
  std::uint16_t port() const { return aggregator->endpoint().port(); }
};

// One HTTPS GET, trusting `ca_pem`.
unsigned https_get_status(std::uint16_t port, const std::string& target, const std::string& ca_pem) {
  boost::asio::io_context io;
  boost::asio::ssl::context ctx(boost::asio::ssl::context::tls_client);
  ctx.add_certificate_authority(boost::asio::buffer(ca_pem));
  ctx.set_verify_mode(boost::asio::ssl::verify_peer);
  boost::asio::ssl::stream<boost::asio::ip::tcp::socket> stream(io, ctx);
  stream.next_layer().connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
  stream.handshake(boost::asio::ssl::stream_base::client);
  bhttp::request<bhttp::empty_body> request{bhttp::verb::get, target, 11};
  request.set(bhttp::field::host, "127.0.0.1");
  bhttp::write(stream, request);
  boost::beast::flat_buffer buffer;
  bhttp::response<bhttp::string_body> response;
  bhttp::read(stream, buffer, response);
  return response.result_int();
}

}  // namespace

TEST_CASE("aggregator: the API behind the users file, namespace restriction, /metrics still open") {
  testing::TempDir dir;
  const auto hash = auth::hash_password("secret", "$6$");
  REQUIRE(hash.has_value());
  write_file(dir.path() / "users", "# name:hash[:namespaces]\nadmin:" + *hash + "\nalice:" + *hash + ":beta\n");
  FakePrometheus prom(200, vector_answer);
  AggregatorHarness h;
  REQUIRE(
      h.start({"--prometheus-url=" + prom.url(), "--auth.users-file=" + (dir.path() / "users").string()}).has_value());
  const auto port = h.port();

  auto anonymous = get(port, "/api", "");
  CHECK(anonymous.status == 401);
  CHECK_FALSE(anonymous.header("WWW-Authenticate").empty());
  CHECK(post(port, "/api/cpu/usage_rate", "{}", "").status == 401);
  CHECK(get(port, "/api/v1/accounting", "").status == 401);
  auto wrong = send(port, bhttp::verb::get, "/api", "", {{"X-USERNAME", "admin"}, {"X-PASSWORD", "wrong"}});
  CHECK(wrong.status == 401);

  CHECK(get(port, "/api", "admin").status == 200);  // the harness sends X-PASSWORD: secret
  auto all = post(port, "/api/cpu/usage_rate", R"({"agg": "all-namespace"})", "admin");
  CHECK(all.status == 200);
  CHECK(all.json().at("totals").as_array().size() == 1);

  auto forbidden = post(port, "/api/cpu/usage_rate", R"({"namespace": "gamma"})", "alice");
  CHECK(forbidden.status == 403);
  CHECK(post(port, "/api/cpu/usage_rate", R"({"namespace": "beta"})", "alice").status == 200);
  CHECK(post(port, "/api/cpu/usage_rate", R"({"agg": "all-pod"})", "alice").status == 200);
  const auto forms = prom.forms();
  REQUIRE(forms.size() == 3);
  CHECK_THAT(forms[1], Catch::Contains("{namespace=\"beta\"}"));
  CHECK_THAT(forms[2], Catch::Contains("{namespace=~\"beta\"}"));

  // Bearer tokens are not configured here; Basic works as well as the seed's headers.
  auto basic = send(port, bhttp::verb::get, "/api", "", {{"Authorization", "Basic YWRtaW46c2VjcmV0"}});
  CHECK(basic.status == 200);

  // Everything else keeps its own switches; /metrics counts what the API and auth answered.
  const auto scrape = get(port, "/metrics", "");
  CHECK(scrape.status == 200);
  CHECK_THAT(scrape.body, Catch::Contains("nodepack_usage_api_replies_total{outcome=\"ok\"} 5"));
  CHECK_THAT(scrape.body, Catch::Contains("nodepack_usage_api_replies_total{outcome=\"refused\"} 5"));
  CHECK_THAT(scrape.body, Catch::Contains("nodepack_usage_api_replies_total{outcome=\"prometheus_failed\"} 0"));
  CHECK_THAT(scrape.body, Catch::Contains("nodepack_auth_attempts_total{result=\"failed\"} 1"));
  CHECK(get(port, "/healthz", "").status == 200);
  CHECK(get(port, "/web/login", "").status == 200);  // the web UI is served by the same port
}

TEST_CASE(
    "aggregator: Kube-App's API_USERNAME/API_PASSWORD user, and its gpu/usage_rate answered with the metric meant") {
  auto user = auth::user_from_variables("kubeapp", "secret").value();  // the harness sends X-PASSWORD: secret
  REQUIRE(user.has_value());
  FakePrometheus prom(200, vector_answer);
  AggregatorHarness h;
  REQUIRE(h.start({"--prometheus-url=" + prom.url()}, user).has_value());  // no users file: the one user is enough
  const auto port = h.port();
  CHECK(post(port, "/api/cpu/usage_rate", R"({"agg": "all-namespace"})", "kubeapp").status == 200);
  CHECK(post(port, "/api/cpu/usage_rate", "{}", "someone").status == 401);

  auto api = post(port, "/api/gpu/usage_rate", "{}", "kubeapp");
  CHECK(api.status == 404);
  CHECK(api.json().at("error").as_string() == "unknown_metric");
  CHECK_THAT(std::string(api.json().at("reason").as_string()), Catch::Contains("GPU usage is gpu/usage"));
  // The web path of Kube-App's README example.
  auto page = send(port, bhttp::verb::get, "/web/stats/gpu/usage_rate/cluster-3", "",
                   {{"X-USERNAME", "kubeapp"}, {"X-PASSWORD", "secret"}});
  CHECK(page.status == 404);
  CHECK_THAT(page.body, Catch::Contains("GPU usage is gpu/usage (GPU memory in use, megabytes)"));
  CHECK(send(port, bhttp::verb::get, "/web/stats/gpu/usage/cluster-3", "",
             {{"X-USERNAME", "kubeapp"}, {"X-PASSWORD", "secret"}})
            .status == 200);
}

TEST_CASE("aggregator: without --prometheus-url the API answers 503; without users it is open") {
  AggregatorHarness h;
  REQUIRE(h.start({}).has_value());
  auto r = post(h.port(), "/api/memory/usage", "{}", "");
  CHECK(r.status == 503);
  CHECK(r.json().at("error") == "api_disabled");
}

TEST_CASE("aggregator: start-up errors for the new flags") {
  CHECK_FALSE(aggregator::parse_aggregator_options({"--tls-cert=/x.pem"}).has_value());
  CHECK_FALSE(aggregator::parse_aggregator_options({"--tls-client-ca=/ca.pem"}).has_value());
  CHECK_FALSE(aggregator::parse_aggregator_options({"--api.max-range=0s"}).has_value());
  CHECK_FALSE(aggregator::parse_aggregator_options({"--prometheus-max-bytes=10"}).has_value());
  auto o = aggregator::parse_aggregator_options(
      {"--prometheus-url=http://p:9090", "--api.max-range=720h", "--api.billing-step=1m", "--prometheus-timeout=5s"});
  REQUIRE(o.has_value());
  CHECK(o->prometheus_url == "http://p:9090");
  CHECK(o->api_max_range == std::chrono::hours(720));
  CHECK(o->api_billing_step == std::chrono::minutes(1));
  CHECK(o->prometheus_timeout == std::chrono::seconds(5));
  CHECK_FALSE(o->auth_enabled());
  CHECK(aggregator::aggregator_usage().find("--prometheus-url") != std::string::npos);

  AggregatorHarness bad_url;
  auto started = bad_url.start({"--prometheus-url=prometheus:9090"});
  REQUIRE_FALSE(started.has_value());
  CHECK_THAT(started.error().message, Catch::Contains("--prometheus-url"));

  // An open billing API must be asked for.
  AggregatorHarness no_users;
  auto open_refused = no_users.start({"--prometheus-url=http://127.0.0.1:1"});
  REQUIRE_FALSE(open_refused.has_value());
  CHECK_THAT(open_refused.error().message, Catch::Contains("--auth.anonymous"));
  AggregatorHarness anonymous;
  REQUIRE(anonymous.start({"--prometheus-url=http://127.0.0.1:1", "--auth.anonymous"}).has_value());
  CHECK(post(anonymous.port(), "/api/memory/usage", "{}", "").status == 502);  // through to an absent Prometheus

  testing::TempDir dir;
  write_file(dir.path() / "users", "admin:plaintext\n");
  AggregatorHarness bad_users;
  auto refused = bad_users.start({"--auth.users-file=" + (dir.path() / "users").string()});
  REQUIRE_FALSE(refused.has_value());
}

TEST_CASE("aggregator: --tls-cert and --tls-key serve every endpoint over HTTPS") {
  testing::TempDir dir;
  testing::TestCa ca;
  const auto server = ca.issue_server("aggregator", {"localhost"}, {"127.0.0.1"});
  write_file(dir.path() / "tls.crt", server.cert_pem);
  write_file(dir.path() / "tls.key", server.key_pem);
  AggregatorHarness h;
  REQUIRE(h.start({"--tls-cert=" + (dir.path() / "tls.crt").string(), "--tls-key=" + (dir.path() / "tls.key").string()})
              .has_value());
  CHECK(https_get_status(h.port(), "/healthz", ca.cert_pem()) == 200);
  CHECK(https_get_status(h.port(), "/api", ca.cert_pem()) == 503);
}

namespace {

using Steady = std::chrono::steady_clock;

HttpReply web_login(std::uint16_t port, const std::string& user, const std::string& password) {
  return send(port, bhttp::verb::post, "/web/login", "user=" + user + "&password=" + password,
              {{"Content-Type", "application/x-www-form-urlencoded"}});
}

// A request sent on a thread of its own; `done` is when its reply had arrived.
struct Background {
  explicit Background(std::function<HttpReply()> request)
      : thread([this, request = std::move(request)] {
          reply = request();
          done = Steady::now();
        }) {}
  ~Background() {
    if (thread.joinable()) {
      thread.join();
    }
  }
  HttpReply wait() {
    thread.join();
    return reply;
  }
  HttpReply reply;
  Steady::time_point done;
  std::thread thread;
};

// Long enough for a request sent just before to reach the server and start its hash (the socket is
// local); short against the ~200 ms a bcrypt-12 check takes.
constexpr auto head_start = std::chrono::milliseconds(50);

}  // namespace

TEST_CASE("aggregator: a login hashing its password does not delay /healthz on the same port") {
  // bcrypt-12: ~200 ms of CPU for each check, on the authenticator's pool.
  testing::TempDir dir;
  write_file(dir.path() / "users", "bob:" + auth::hash_password("bob-pw", "$2b$", 12).value() + "\n");
  FakePrometheus prom(200, vector_answer);
  AggregatorHarness h;
  REQUIRE(
      h.start({"--prometheus-url=" + prom.url(), "--auth.users-file=" + (dir.path() / "users").string()}).has_value());
  const auto port = h.port();

  // Through each door a password comes in: the web login form and the API's X-PASSWORD header.
  const std::vector<std::pair<std::string, std::function<HttpReply()>>> logins{
      {"web login", [port] { return web_login(port, "bob", "bob-pw"); }},
      {"API", [port] {
         return send(port, bhttp::verb::get, "/api", "", {{"X-USERNAME", "bob"}, {"X-PASSWORD", "no"}});
       }}};
  for (const auto& [door, request] : logins) {
    INFO(door);
    Background login(request);
    std::this_thread::sleep_for(head_start);
    const auto asked = Steady::now();
    CHECK(get(port, "/healthz", "").status == 200);
    const auto answered = Steady::now();
    // /healthz answered within 100 ms while the bcrypt-12 check runs: hashed on the serving
    // thread, it would have waited for the rest of the ~200 ms check.
    CHECK(answered - asked < std::chrono::milliseconds(100));
    const auto reply = login.wait();
    CHECK(login.done > answered);  // the check was still running: the two overlapped
    CHECK(reply.status == (door == "web login" ? 303u : 401u));
  }
}

TEST_CASE("aggregator: a full hashing queue answers 503 with Retry-After at once") {
  testing::TempDir dir;
  write_file(dir.path() / "users", "bob:" + auth::hash_password("bob-pw", "$2b$", 12).value() + "\n");
  AggregatorHarness h;
  REQUIRE(
      h.start({"--auth.users-file=" + (dir.path() / "users").string(), "--auth.hash-threads=1", "--auth.hash-queue=0"})
          .has_value());
  const auto port = h.port();

  Background first([port] { return web_login(port, "bob", "bob-pw"); });
  std::this_thread::sleep_for(head_start);
  const auto asked = Steady::now();
  const auto busy = web_login(port, "bob", "bob-pw");
  const auto answered = Steady::now();
  CHECK(busy.status == 503);
  CHECK(busy.header("Retry-After") == "1");
  CHECK(busy.header("Set-Cookie").empty());
  CHECK_THAT(busy.body, Catch::Contains("the server is checking too many passwords at once; try again in 1 s"));
  // Refused at once rather than queued behind the ~200 ms bcrypt-12 check that holds the only
  // thread: 100 ms is half of that check.
  CHECK(answered - asked < std::chrono::milliseconds(100));
  CHECK(first.wait().status == 303);
  CHECK(first.done > answered);
  // The API's header credentials meet the same queue: free again, it checks them.
  CHECK(send(port, bhttp::verb::get, "/web/accounting", "", {{"X-USERNAME", "bob"}, {"X-PASSWORD", "bob-pw"}}).status ==
        200);
  const auto scrape = get(port, "/metrics", "");
  CHECK_THAT(scrape.body, Catch::Contains("nodepack_auth_attempts_total{result=\"busy\"} 1"));
  CHECK_THAT(scrape.body, Catch::Contains("nodepack_auth_attempts_total{result=\"failed\"} 0"));
}

TEST_CASE("aggregator: --auth.secure-cookie marks the session cookie Secure behind a TLS proxy") {
  testing::TempDir dir;
  write_file(dir.path() / "users", "alice:" + auth::hash_password("alice-pw", "$6$").value() + "\n");
  const auto users = "--auth.users-file=" + (dir.path() / "users").string();

  // Plain HTTP to the aggregator, HTTPS to the browser: the proxy terminates TLS.
  AggregatorHarness proxied;
  REQUIRE(proxied.start({users, "--auth.secure-cookie=true"}).has_value());
  const auto login = web_login(proxied.port(), "alice", "alice-pw");
  CHECK(login.status == 303);
  const auto cookie = login.header("Set-Cookie");
  CHECK(cookie.starts_with("nodepack_session="));
  CHECK(cookie.ends_with("; Path=/; HttpOnly; SameSite=Strict; Secure"));
  const auto logout =
      send(proxied.port(), bhttp::verb::post, "/web/logout", "", {{"Cookie", cookie.substr(0, cookie.find(';'))}});
  CHECK(logout.header("Set-Cookie") == "nodepack_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict; Secure");

  // auto (the default) over plain HTTP: not Secure, or the browser would never send it back.
  AggregatorHarness plain;
  REQUIRE(plain.start({users}).has_value());
  CHECK(web_login(plain.port(), "alice", "alice-pw").header("Set-Cookie").ends_with("; SameSite=Strict"));

  auto parsed = aggregator::parse_aggregator_options({"--auth.secure-cookie=false"});
  REQUIRE(parsed.has_value());
  CHECK(parsed->auth_secure_cookie == aggregator::SecureCookie::never);
  CHECK_FALSE(parsed->secure_cookie());
  parsed = aggregator::parse_aggregator_options({"--tls-cert=/c.pem", "--tls-key=/k.pem"});
  REQUIRE(parsed.has_value());
  CHECK(parsed->secure_cookie());  // auto with TLS
  parsed =
      aggregator::parse_aggregator_options({"--tls-cert=/c.pem", "--tls-key=/k.pem", "--auth.secure-cookie=false"});
  REQUIRE(parsed.has_value());
  CHECK_FALSE(parsed->secure_cookie());
  auto bad = aggregator::parse_aggregator_options({"--auth.secure-cookie=yes"});
  REQUIRE_FALSE(bad.has_value());
  CHECK_THAT(bad.error().message, Catch::Contains("--auth.secure-cookie must be auto, true or false, not \"yes\""));
  CHECK_FALSE(aggregator::parse_aggregator_options({"--auth.hash-threads=0"}).has_value());
  CHECK_FALSE(aggregator::parse_aggregator_options({"--auth.hash-queue=-1"}).has_value());
  auto pool = aggregator::parse_aggregator_options({"--auth.hash-threads=1", "--auth.hash-queue=4"});
  REQUIRE(pool.has_value());
  CHECK(pool->auth_hash_threads == 1);
  CHECK(pool->auth_hash_queue == 4);
}
