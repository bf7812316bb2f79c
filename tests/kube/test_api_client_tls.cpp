// The Kubernetes client's HTTPS path against the fake API server over TLS, with a CA made at test
// time: the right CA works (list and watch, bearer token over TLS), a wrong CA and a host name
// mismatch fail clearly, tls-server-name overrides the name checked, and client-certificate
// authentication works while a missing certificate is refused.

#include "http/tls.hpp"
#include "kube/api_client.hpp"
#include "sim/fake_api_server.hpp"
#include "tests/http/test_certs.hpp"
#include "tests/support/temp_dir.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/object.hpp>
#include <catch2/catch.hpp>

#include <optional>
#include <string>

namespace net = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;
using nodepack::Result;
using nodepack::kube::ApiClient;
using nodepack::kube::ApiResponse;
using nodepack::kube::ClusterConfig;
using nodepack::sim::FakeApiOptions;
using nodepack::sim::FakeApiServer;
using nodepack::sim::Kind;
using nodepack::testing::CertAndKey;
using nodepack::testing::TempDir;
using nodepack::testing::TestCa;

namespace {

json::object pod(const std::string& ns, const std::string& name) {
  return json::object{{"metadata", json::object{{"name", name}, {"namespace", ns}}},
                      {"spec", json::object{{"nodeName", "n1"}}},
                      {"status", json::object{{"phase", "Running"}}}};
}

// The fake API server over HTTPS with `server_cert`; clients must present a certificate signed by
// `client_ca_pem` when it is given.
struct TlsApiServer {
  TlsApiServer(const CertAndKey& server_cert, const std::string& token, const std::string& client_ca_pem = {})
      : server(options(server_cert, token, client_ca_pem)) {
    REQUIRE(server.start("127.0.0.1:0").has_value());
    REQUIRE(server.upsert(Kind::pod, pod("default", "web-1")).has_value());
  }

  FakeApiOptions options(const CertAndKey& cert, const std::string& token, const std::string& client_ca_pem) {
    nodepack::http::TlsFiles files{dir.write("server.crt", cert.cert_pem), dir.write("server.key", cert.key_pem), {}};
    if (!client_ca_pem.empty()) {
      files.client_ca = dir.write("client-ca.crt", client_ca_pem);
    }
    FakeApiOptions o;
    o.token = token;
    o.limits.tls = nodepack::http::make_server_tls_context(files).value();
    return o;
  }

  TempDir dir;
  FakeApiServer server;
};

Result<ApiResponse> get(const ClusterConfig& config, const std::string& target) {
  auto client = ApiClient::create(config, nodepack::SystemClock::instance());
  REQUIRE(client.has_value());
  net::io_context io;
  std::optional<Result<ApiResponse>> out;
  net::co_spawn(
      io, [&]() -> net::awaitable<void> { out = co_await (*client)->get(target, 5s); }, net::detached);
  io.run();
  REQUIRE(out.has_value());
  return *out;
}

std::string error_of(const Result<ApiResponse>& response) {
  REQUIRE_FALSE(response.has_value());
  return response.error().message;
}

}  // namespace

TEST_CASE("the client lists over TLS with the right CA and a bearer token") {
  TestCa ca;
  TlsApiServer api(ca.issue_server("kube-apiserver", {"localhost"}, {"127.0.0.1"}), "s3cret");
  REQUIRE(api.server.url() == "https://127.0.0.1:" + std::to_string(api.server.port()));
  ClusterConfig config;
  config.server = api.server.url();
  config.ca_pem = ca.cert_pem();
  config.token = "s3cret";
  auto pods = get(config, "/api/v1/pods");
  REQUIRE(pods.has_value());
  CHECK(pods->status == 200);
  CHECK(pods->body.find("\"PodList\"") != std::string::npos);
  CHECK(pods->body.find("\"web-1\"") != std::string::npos);

  // The token travels inside TLS and is still checked.
  config.token = "wrong";
  auto refused = get(config, "/api/v1/pods");
  REQUIRE(refused.has_value());
  CHECK(refused->status == 401);

  // By name, as a kubeconfig usually has it: localhost resolves (maybe to ::1 first, which has no
  // listener; the client then tries 127.0.0.1).
  config.token = "s3cret";
  config.server = "https://localhost:" + std::to_string(api.server.port());
  auto by_name = get(config, "/api/v1/pods");
  REQUIRE(by_name.has_value());
  CHECK(by_name->status == 200);
}

TEST_CASE("a watch streams over TLS") {
  TestCa ca;
  TlsApiServer api(ca.issue_server("kube-apiserver", {"localhost"}, {"127.0.0.1"}), "");
  ClusterConfig config;
  config.server = api.server.url();
  config.ca_pem = ca.cert_pem();
  auto client = ApiClient::create(config, nodepack::SystemClock::instance()).value();
  net::io_context io;
  std::vector<std::string> lines;
  unsigned opened = 0;
  std::optional<Result<ApiResponse>> out;
  net::co_spawn(
      io,
      [&]() -> net::awaitable<void> {
        out = co_await client->stream(
            "/api/v1/pods?watch=true&resourceVersion=0",
            [&](std::string_view line) {
              lines.emplace_back(line);
              api.server.drop_watches();  // one event is enough; the server then ends the stream
            },
            [&](unsigned status) { opened = status; }, 5s);
      },
      net::detached);
  io.run();
  REQUIRE(out.has_value());
  REQUIRE(out->has_value());
  CHECK(opened == 200);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].find("\"ADDED\"") != std::string::npos);
  CHECK(lines[0].find("\"web-1\"") != std::string::npos);
}

TEST_CASE("a wrong CA fails the handshake with a clear error") {
  TestCa ca;
  TestCa other("another CA");
  TlsApiServer api(ca.issue_server("kube-apiserver", {"localhost"}, {"127.0.0.1"}), "");
  ClusterConfig config;
  config.server = api.server.url();
  config.ca_pem = other.cert_pem();
  const auto message = error_of(get(config, "/api/v1/pods"));
  CHECK(message.starts_with("TLS handshake with " + api.server.url() + ": "));
  CHECK(message.find("certificate verify failed") != std::string::npos);
  // No CA at all means the system trust store, which does not know the test CA either.
  config.ca_pem.clear();
  CHECK(error_of(get(config, "/api/v1/pods")).find("certificate verify failed") != std::string::npos);
  // insecure-skip-tls-verify is the explicit way around it.
  config.insecure_skip_tls_verify = true;
  auto skipped = get(config, "/api/v1/pods");
  REQUIRE(skipped.has_value());
  CHECK(skipped->status == 200);
}

TEST_CASE("a certificate for another host is refused; tls-server-name picks the name to check") {
  TestCa ca;
  SECTION("the certificate names neither the host nor its address") {
    TlsApiServer api(ca.issue_server("elsewhere", {"elsewhere.example"}, {}), "");
    ClusterConfig config;
    config.server = api.server.url();
    config.ca_pem = ca.cert_pem();
    const auto message = error_of(get(config, "/api/v1/pods"));
    CHECK(message.starts_with("TLS handshake with " + api.server.url() + ": "));
    CHECK(message.find("certificate verify failed") != std::string::npos);
    config.tls_server_name = "elsewhere.example";
    auto named = get(config, "/api/v1/pods");
    REQUIRE(named.has_value());
    CHECK(named->status == 200);
  }
  SECTION("a certificate with a DNS name only does not cover the IP address") {
    TlsApiServer api(ca.issue_server("kube-apiserver", {"localhost"}, {}), "");
    ClusterConfig config;
    config.server = api.server.url();
    config.ca_pem = ca.cert_pem();
    CHECK(error_of(get(config, "/api/v1/pods")).find("certificate verify failed") != std::string::npos);
    config.tls_server_name = "localhost";
    auto named = get(config, "/api/v1/pods");
    REQUIRE(named.has_value());
    CHECK(named->status == 200);
  }
}

TEST_CASE("client-certificate authentication works and a missing certificate is refused") {
  TestCa server_ca("cluster CA");
  TestCa client_ca("client CA");
  TlsApiServer api(server_ca.issue_server("kube-apiserver", {"localhost"}, {"127.0.0.1"}), "", client_ca.cert_pem());
  ClusterConfig config;
  config.server = api.server.url();
  config.ca_pem = server_ca.cert_pem();

  const auto issued = client_ca.issue_client("system:node:n1");
  config.client_cert_pem = issued.cert_pem;
  config.client_key_pem = issued.key_pem;
  auto pods = get(config, "/api/v1/pods");
  REQUIRE(pods.has_value());
  CHECK(pods->status == 200);

  // TLS 1.3: the server refuses after the client's side of the handshake is done, so the error
  // may come from the handshake or from the first read.
  const auto refused = [](const Result<ApiResponse>& response) {
    REQUIRE_FALSE(response.has_value());
    const auto& message = response.error().message;
    return message.starts_with("TLS handshake with ") || message.starts_with("reading response headers: ") ||
           message.starts_with("sending request: ");
  };
  config.client_cert_pem.clear();
  config.client_key_pem.clear();
  CHECK(refused(get(config, "/api/v1/pods")));

  const auto stranger = TestCa("someone else's CA").issue_client("intruder");
  config.client_cert_pem = stranger.cert_pem;
  config.client_key_pem = stranger.key_pem;
  CHECK(refused(get(config, "/api/v1/pods")));
  CHECK(api.server.request_count("list") == 1);
}

TEST_CASE("an unusable client certificate is refused when the client is made") {
  ClusterConfig config;
  config.server = "https://127.0.0.1:6443";
  config.client_cert_pem = "-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n";
  config.client_key_pem = "-----BEGIN PRIVATE KEY-----\nbroken\n-----END PRIVATE KEY-----\n";
  auto client = ApiClient::create(config, nodepack::SystemClock::instance());
  REQUIRE_FALSE(client.has_value());
  CHECK(client.error().message.starts_with("TLS setup for https://127.0.0.1:6443 failed: "));
}
