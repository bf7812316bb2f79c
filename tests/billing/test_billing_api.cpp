// The handlers over HTTP without a real Prometheus: the API switched off, authentication and
// namespace restriction, every bad request, Prometheus down or answering an error, what is sent
// to Prometheus and how its answer is reshaped.

#include "billing_harness.hpp"

#include "aggregator/billing/prometheus_client.hpp"
#include "http/tls.hpp"
#include "tests/http/test_certs.hpp"
#include "tests/support/temp_dir.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>

using namespace nodepack;
using namespace nodepack::billing;
using namespace nodepack::billing::test;
namespace bhttp = boost::beast::http;

namespace {

constexpr std::int64_t t0 = 1767225600;
const std::chrono::system_clock::time_point now(std::chrono::seconds(t0 + 5400));

const char* matrix_answer = R"({"status":"success","data":{"resultType":"matrix","result":[
  {"metric":{"namespace":"beta","pod":"b2","container":"app"},"values":[[1767227400,"200"],[1767227700,"NaN"]]},
  {"metric":{"namespace":"beta","pod":"b1","container":"app"},"values":[[1767227400,"1000.5"]]}]}})";

const char* vector_answer = R"({"status":"success","data":{"resultType":"vector","result":[
  {"metric":{"namespace":"gamma"},"value":[1767231000,"2"]},
  {"metric":{"namespace":"beta"},"value":[1767231000,"1.25"]}]}})";

// A port nothing listens on: bound, then closed.
std::uint16_t closed_port() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

std::string reason(const HttpReply& r) {
  const auto j = r.json();
  REQUIRE(j.is_object());
  return std::string(j.at("reason").as_string());
}

std::string error(const HttpReply& r) {
  const auto j = r.json();
  REQUIRE(j.is_object());
  return std::string(j.at("error").as_string());
}

}  // namespace

TEST_CASE("api: off without --prometheus-url, 503 JSON saying why") {
  ManualClock clock(now);
  ApiServer api("", clock);
  for (auto r : {post(api.port(), "/api/cpu/usage_rate", "{}"), get(api.port(), "/api/v1/accounting"),
                 get(api.port(), "/api")}) {
    CHECK(r.status == 503);
    CHECK(r.header("Content-Type") == "application/json");
    CHECK(error(r) == "api_disabled");
    CHECK_THAT(reason(r), Catch::Contains("--prometheus-url"));
  }
}

TEST_CASE("api: every route authenticates; the authenticator's refusal is the reply") {
  ManualClock clock(now);
  FakePrometheus prom(200, vector_answer);
  ApiServer api(prom.url(), clock);
  for (auto r : {post(api.port(), "/api/cpu/usage_rate", "{}", ""), get(api.port(), "/api/v1/accounting", "mallory"),
                 get(api.port(), "/api", ""), post(api.port(), "/api/no/such", "{}", "")}) {
    CHECK(r.status == 401);
    CHECK(r.header("WWW-Authenticate") == "Basic realm=\"nodepack\"");
  }
  CHECK(prom.forms().empty());
}

TEST_CASE("api: bad requests") {
  ManualClock clock(now);
  FakePrometheus prom(200, vector_answer);
  ApiServer api(prom.url(), clock);
  const auto port = api.port();

  auto unknown = post(port, "/api/cpu/usage_rates", "{}");
  CHECK(unknown.status == 404);
  CHECK(error(unknown) == "unknown_metric");
  CHECK_THAT(reason(unknown), Catch::Contains("cpu/usage_rates"));

  auto wrong_method = get(port, "/api/cpu/usage_rate");
  CHECK(wrong_method.status == 405);
  CHECK(wrong_method.header("Allow") == "POST");
  CHECK(error(wrong_method) == "method_not_allowed");
  CHECK(send(port, bhttp::verb::put, "/api/memory/usage", "{}", {{"X-USERNAME", "admin"}}).status == 405);
  auto accounting_post = post(port, "/api/v1/accounting", "{}");
  CHECK(accounting_post.status == 405);
  CHECK(accounting_post.header("Allow") == "GET");

  for (const char* name : {"filesystem/inodes", "filesystem/inodes_free"}) {
    auto r = post(port, std::string("/api/") + name, "{}");
    CHECK(r.status == 501);
    CHECK(error(r) == "not_collected");
    CHECK_THAT(reason(r), Catch::Contains("not collected by nodepack"));
  }

  const std::pair<const char*, const char*> bad_bodies[] = {
      {"{\"namespace\":", "not JSON"},
      {"[]", "JSON object"},
      {R"({"limit": 0})", "limit must be"},
      {R"({"limit": "many"})", "limit must be"},
      {R"({"namespace": "No_Such"})", "namespace"},
      {R"({"timeBeginInterval": "2026-01-01T02:00:00Z", "timeEndInterval": "2026-01-01T01:00:00Z"})", "not after"},
      {R"({"timeBeginInterval": "2020-01-01", "timeEndInterval": "2026-01-01"})", "--api.max-range"},
      {R"({"timeBeginInterval": "01.01.2026"})", "YYYY-MM-DD"},
  };
  for (const auto& [body, why] : bad_bodies) {
    INFO(body);
    auto r = post(port, "/api/cpu/usage_rate", body);
    CHECK(r.status == 400);
    CHECK(error(r) == "bad_request");
    CHECK_THAT(reason(r), Catch::Contains(why));
  }
  for (const char* query : {"?by=node", "?format=xml", "?from=2026-01-02&to=2026-01-01",
                            "?from=2020-01-01&to=2026-01-01", "?namespace=a%20b", "?to=noon"}) {
    INFO(query);
    auto r = get(port, std::string("/api/v1/accounting") + query);
    CHECK(r.status == 400);
    CHECK(error(r) == "bad_request");
  }
  CHECK(prom.forms().empty());  // nothing bad reached Prometheus
}

TEST_CASE("api: a user restricted to namespaces sees only those") {
  ManualClock clock(now);
  FakePrometheus prom(200, vector_answer);
  ApiServer api(prom.url(), clock);
  const auto port = api.port();

  auto other = post(port, "/api/cpu/usage_rate", R"({"namespace": "gamma"})", "alice");
  CHECK(other.status == 403);
  CHECK(error(other) == "forbidden");
  CHECK_THAT(reason(other), Catch::Contains("gamma"));
  CHECK(post(port, "/api/cpu/usage_rate", "{}", "alice").status == 403);  // "default" is not hers either
  CHECK(post(port, "/api/memory/usage", R"({"agg": "pod-by-namespace"})", "alice").status == 403);
  CHECK(post(port, "/api/cpu/node_utilization", R"({"agg": "all-namespace"})", "alice").status == 403);
  CHECK(get(port, "/api/v1/accounting?namespace=gamma", "alice").status == 403);
  CHECK(prom.forms().empty());

  // The all-* aggregations and the accounting are filtered to the allowed namespaces.
  CHECK(post(port, "/api/cpu/usage", R"({"agg": "all-namespace", "namespace": "gamma"})", "bob").status == 200);
  CHECK(post(port, "/api/cpu/usage", R"({"agg": "all-pod"})", "bob").status == 200);
  CHECK(get(port, "/api/v1/accounting?by=pod", "bob").status == 200);
  CHECK(post(port, "/api/cpu/usage", R"({"namespace": "beta"})", "alice").status == 200);
  const auto forms = prom.forms();
  REQUIRE(forms.size() == 2 + 7 + 1);
  CHECK_THAT(forms[0], Catch::Contains("kpod_cpu_usage_seconds_total{namespace=~\"beta|gamma\"}"));
  CHECK_THAT(forms[1], Catch::Contains("kpod_cpu_usage_seconds_total{namespace=~\"beta|gamma\"}"));
  for (std::size_t i = 2; i < 9; ++i) {
    CHECK_THAT(forms[i], Catch::Contains("{namespace=~\"beta|gamma\"}"));
  }
  CHECK_THAT(forms[9], Catch::Contains("{namespace=\"beta\"}"));

  // A namespace that is not a DNS label never becomes a regex that matches everything.
  CHECK(post(port, "/api/cpu/usage", R"({"agg": "all-namespace"})", "mallet").status == 200);
  CHECK_THAT(prom.forms().back(), Catch::Contains("{namespace=~\"-\"}"));
}

TEST_CASE("api: Prometheus down is 502 with the reason, and the server keeps serving") {
  ManualClock clock(now);
  ApiServer api("http://127.0.0.1:" + std::to_string(closed_port()), clock);
  for (int i = 0; i < 2; ++i) {
    auto r = post(api.port(), "/api/cpu/usage_rate", "{}");
    CHECK(r.status == 502);
    CHECK(error(r) == "prometheus_unavailable");
    CHECK_THAT(reason(r), Catch::Contains("cannot connect to Prometheus"));
  }
  auto accounting = get(api.port(), "/api/v1/accounting");
  CHECK(accounting.status == 502);
}

TEST_CASE("api: Prometheus' own error is passed through as the reason") {
  ManualClock clock(now);
  FakePrometheus prom(
      422,
      R"({"status":"error","errorType":"execution","error":"query processing would load too many samples into memory"})");
  ApiServer api(prom.url(), clock);
  auto r = post(api.port(), "/api/cpu/usage_rate", R"({"agg": "all-pod"})");
  CHECK(r.status == 502);
  CHECK(error(r) == "prometheus_error");
  CHECK(reason(r) == "query processing would load too many samples into memory");

  FakePrometheus html(503, "<html>Service Unavailable</html>");
  ApiServer api2(html.url(), clock);
  auto r2 = get(api2.port(), "/api/v1/accounting");
  CHECK(r2.status == 502);
  CHECK(error(r2) == "prometheus_unavailable");
  CHECK(reason(r2) == "Prometheus answered HTTP 503 without its JSON");
}

TEST_CASE("api: series are sent as a range query and come back sorted, NaN as null") {
  ManualClock clock(now);
  FakePrometheus prom(200, matrix_answer);
  ApiServer api(prom.url(), clock);
  auto r = post(api.port(), "/api/cpu/usage_rate", R"({"namespace": "beta", "limit": 12})");
  REQUIRE(r.status == 200);
  CHECK(r.header("Content-Type") == "application/json");
  const auto forms = prom.forms();
  REQUIRE(forms.size() == 1);
  CHECK(
      forms[0] ==
      "/prefix/api/v1/query_range?query=sum by (namespace, pod, container) "
      "(rate(kpod_cpu_usage_seconds_total{namespace=\"beta\"}[300s])) * 1000&start=1767227400&end=1767230700&step=300");
  const auto j = r.json().as_object();
  CHECK(j.at("metric") == "cpu/usage_rate");
  CHECK(j.at("unit") == "millicores");
  CHECK(j.at("agg") == "none");
  CHECK(j.at("namespace") == "beta");
  CHECK(j.at("timeBeginInterval") == "2026-01-01T00:30:00Z");
  CHECK(j.at("timeEndInterval") == "2026-01-01T01:30:00Z");
  CHECK(j.at("limit") == 12);
  CHECK(j.at("step") == 300);
  const auto& series = j.at("series").as_array();
  REQUIRE(series.size() == 2);
  CHECK(series[0].at("pod") == "b1");
  CHECK(series[0].at("container") == "app");
  CHECK(series[0].at("namespace") == "beta");
  CHECK(series[0].at("points").as_array()[0].as_array()[0] == 1767227400);
  CHECK(series[0].at("points").as_array()[0].as_array()[1].as_double() == 1000.5);
  CHECK(series[1].at("pod") == "b2");
  CHECK(series[1].at("points").as_array()[0].as_array()[1] == 200);
  CHECK(series[1].at("points").as_array()[1].as_array()[1].is_null());
}

TEST_CASE("api: totals are sent as an instant query at the end") {
  ManualClock clock(now);
  FakePrometheus prom(200, vector_answer);
  ApiServer api(prom.url(), clock);
  auto r = post(api.port(), "/api/cpu/usage_rate", R"({"agg": "all-namespace", "namespace": "ignored", "limit": 1})");
  REQUIRE(r.status == 200);
  const auto forms = prom.forms();
  REQUIRE(forms.size() == 1);
  CHECK(forms[0] ==
        "/prefix/api/v1/query?query=sum by (namespace) (increase(kpod_cpu_usage_seconds_total[3600s])) / "
        "3600 * 1000&time=1767231000.000");
  const auto j = r.json().as_object();
  CHECK(j.at("agg") == "all-namespace");
  CHECK(j.at("namespace").is_null());
  CHECK(j.at("aggregate") == "mean_rate");
  CHECK_FALSE(j.contains("series"));
  const auto& totals = j.at("totals").as_array();
  REQUIRE(totals.size() == 2);
  CHECK(totals[0] == boost::json::value{{"namespace", "beta"}, {"value", 1.25}});
  CHECK(totals[1] == boost::json::value{{"namespace", "gamma"}, {"value", 2}});
}

TEST_CASE("api: the catalogue at GET /api") {
  ManualClock clock(now);
  FakePrometheus prom(200, vector_answer);
  ApiServer api(prom.url(), clock);
  for (const char* path : {"/api", "/api/"}) {
    auto r = get(api.port(), path);
    REQUIRE(r.status == 200);
    const auto body = r.json();
    const auto& metrics = body.at("metrics").as_array();
    CHECK(metrics.size() == catalogue().size());
    CHECK(metrics[0] == boost::json::value{{"name", "cpu/usage_rate"},
                                           {"unit", "millicores"},
                                           {"kind", "rate"},
                                           {"level", "container"},
                                           {"main", true},
                                           {"collected", true},
                                           {"description", "CPU usage on all cores in millicores."}});
  }
  CHECK(post(api.port(), "/api", "{}").status == 405);
}

TEST_CASE("prometheus answers: vector, matrix, scalar, errors") {
  auto v = parse_query_answer(200, vector_answer);
  REQUIRE(v.has_value());
  REQUIRE(v->size() == 2);
  CHECK(v->at(0).label("namespace") == "gamma");
  CHECK(v->at(1).points == std::vector<std::pair<double, double>>{{1767231000, 1.25}});
  auto s = parse_query_answer(200, R"({"status":"success","data":{"resultType":"scalar","result":[1,"+Inf"]}})");
  REQUIRE(s.has_value());
  CHECK(std::isinf(s->at(0).points[0].second));
  auto e = parse_query_answer(400, R"({"status":"error","errorType":"bad_data","error":"parse error at char 3"})");
  REQUIRE_FALSE(e.has_value());
  CHECK(e.error().kind == PromFailure::Kind::error);
  CHECK(e.error().reason == "parse error at char 3");
  auto junk = parse_query_answer(200, "not json");
  REQUIRE_FALSE(junk.has_value());
  CHECK(junk.error().kind == PromFailure::Kind::unavailable);
  CHECK_FALSE(
      parse_query_answer(200, R"({"status":"success","data":{"resultType":"vector","result":[{"value":[1,"x"]}]}})")
          .has_value());
  CHECK(form_encode("a b&c=\"d\"/é") == "a%20b%26c%3D%22d%22%2F%C3%A9");
}

TEST_CASE("prometheus client: an answer over the size bound is refused, not read") {
  ManualClock clock(now);
  std::string big = R"({"status":"success","data":{"resultType":"vector","result":[)";
  for (int i = 0; i < 2000; ++i) {
    big += std::string(i ? "," : "") + R"({"metric":{"namespace":"n)" + std::to_string(i) + R"("},"value":[1,"1"]})";
  }
  big += "]}}";
  FakePrometheus prom(200, big);
  PrometheusOptions o;
  o.url = prom.url();
  o.max_bytes = 4096;
  auto client = PrometheusClient::create(o);
  REQUIRE(client.has_value());
  boost::asio::io_context io;
  std::optional<PromResult<std::vector<PromSeries>>> got;
  boost::asio::co_spawn(io, (*client)->query("up", 1000), [&](std::exception_ptr, auto r) { got = std::move(r); });
  io.run();
  REQUIRE(got.has_value());
  REQUIRE_FALSE(got->has_value());
  CHECK_THAT(got->error().reason, Catch::Contains("more than 4096 bytes"));

  CHECK_FALSE(PrometheusClient::create({"prometheus:9090", {}, 1}).has_value());
  CHECK(PrometheusClient::create({"https://prometheus.example:9091/sub/path/", {}, 1}).has_value());
}

TEST_CASE("prometheus client: a Prometheus that never answers is given up after the timeout") {
  // A listening socket nobody accepts on: the kernel completes the handshake, nothing ever answers.
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor silent(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  PrometheusOptions o;
  o.url = "http://127.0.0.1:" + std::to_string(silent.local_endpoint().port());
  o.timeout = std::chrono::milliseconds(200);
  auto client = PrometheusClient::create(o);
  REQUIRE(client.has_value());
  std::optional<PromResult<std::vector<PromSeries>>> got;
  const auto start = std::chrono::steady_clock::now();
  boost::asio::co_spawn(io, (*client)->query_range("up", 0, 60, 60),
                        [&](std::exception_ptr, auto r) { got = std::move(r); });
  io.run();
  const auto took = std::chrono::steady_clock::now() - start;
  REQUIRE(got.has_value());
  REQUIRE_FALSE(got->has_value());
  CHECK(got->error().kind == PromFailure::Kind::unavailable);
  CHECK_THAT(got->error().reason, Catch::Contains("did not answer in time"));
  CHECK(took >= std::chrono::milliseconds(200));
  CHECK(took < std::chrono::seconds(5));
}

namespace {

// Runs one instant query to completion.
PromResult<std::vector<PromSeries>> query_now(PrometheusClient& client, const std::string& promql) {
  boost::asio::io_context io;
  std::optional<PromResult<std::vector<PromSeries>>> got;
  boost::asio::co_spawn(io, client.query(promql, 1000), [&](std::exception_ptr, auto r) { got = std::move(r); });
  io.run();
  REQUIRE(got.has_value());
  return std::move(*got);
}

}  // namespace

TEST_CASE("prometheus client: https verified with --prometheus-ca-file, a bearer token file re-read when it changes") {
  nodepack::testing::TestCa ca("prometheus test CA");
  const auto server = ca.issue_server("prometheus", {"localhost"}, {"127.0.0.1"});
  nodepack::testing::TempDir dir;
  http::TlsFiles files{dir.write("tls.crt", server.cert_pem), dir.write("tls.key", server.key_pem), {}};
  FakePrometheus prom(
      200,
      R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{"namespace":"a"},"value":[1,"2"]}]}})",
      http::make_server_tls_context(files).value());
  const auto ca_file = dir.write("ca.crt", ca.cert_pem());
  const auto token_file = dir.write("token", "first-token\n");
  PrometheusOptions o;
  o.url = prom.url();
  o.ca_file = ca_file;
  o.bearer_token_file = token_file;
  auto client = PrometheusClient::create(o);
  REQUIRE(client.has_value());

  auto first = query_now(**client, "up");
  REQUIRE(first.has_value());
  REQUIRE(first->size() == 1);
  CHECK((*first)[0].label("namespace") == "a");
  CHECK((*first)[0].points == std::vector<std::pair<double, double>>{{1.0, 2.0}});
  // The token rotates (a projected service account token does, hourly).
  const auto written = std::filesystem::last_write_time(token_file);
  dir.write("token", "second-token");
  std::filesystem::last_write_time(token_file, written + std::chrono::seconds(1));
  CHECK(query_now(**client, "up").has_value());
  CHECK(prom.authorizations() == std::vector<std::string>{"Bearer first-token", "Bearer second-token"});

  // Without the CA file the same server is refused: the system CAs do not know its issuer.
  PrometheusOptions system_cas;
  system_cas.url = prom.url();
  auto unverified = query_now(*PrometheusClient::create(system_cas).value(), "up");
  REQUIRE_FALSE(unverified.has_value());
  CHECK(unverified.error().kind == PromFailure::Kind::unavailable);
  CHECK_THAT(unverified.error().reason, Catch::Contains("TLS handshake with Prometheus"));
  CHECK(prom.forms().size() == 2);  // the refused one never reached it

  // Start-up errors name the flag.
  PrometheusOptions plain_with_ca;
  plain_with_ca.url = "http://127.0.0.1:9";
  plain_with_ca.ca_file = ca_file;
  auto plain = PrometheusClient::create(plain_with_ca);
  REQUIRE_FALSE(plain.has_value());
  CHECK(plain.error().message == "--prometheus-ca-file needs an https:// --prometheus-url");
  PrometheusOptions not_pem = o;
  not_pem.ca_file = token_file;
  auto junk = PrometheusClient::create(not_pem);
  REQUIRE_FALSE(junk.has_value());
  CHECK_THAT(junk.error().message, Catch::Contains("cannot read a PEM certificate from it"));
  PrometheusOptions no_token = o;
  no_token.bearer_token_file = dir.path() / "missing";
  auto missing = PrometheusClient::create(no_token);
  REQUIRE_FALSE(missing.has_value());
  CHECK_THAT(missing.error().message, Catch::StartsWith("--prometheus-bearer-token-file: token file "));
}

TEST_CASE("accounting CSV: header, one line per row, six decimals") {
  std::vector<AccountingRow> rows{{{"beta", "b1"}, 1, 1, 1, 1, 1, 1, 0}, {{"gamma", "g1"}, 2, 2, 2.5, 4, 4, 4, 2}};
  CHECK(accounting_csv({"namespace", "pod"}, rows) ==
        "namespace,pod,cpu_core_hours_used,cpu_core_hours_requested,cpu_core_hours_billable,memory_gib_hours_used,"
        "memory_gib_hours_requested,memory_gib_hours_billable,gpu_hours\n"
        "beta,b1,1.000000,1.000000,1.000000,1.000000,1.000000,1.000000,0.000000\n"
        "gamma,g1,2.000000,2.000000,2.500000,4.000000,4.000000,4.000000,2.000000\n");
}
