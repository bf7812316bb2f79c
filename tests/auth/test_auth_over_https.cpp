// The Authenticator behind the real server over HTTPS, as the aggregator wires it: a route that
// authenticates, then checks the namespace. Right, wrong, missing, rate-limited and restricted, seen
// by a client on the wire (status, headers, JSON body).

#include "aggregator/auth/authenticator.hpp"
#include "aggregator/auth/secrets.hpp"
#include "http/tls.hpp"
#include "tests/http/test_certs.hpp"
#include "tests/support/temp_dir.hpp"

#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <catch2/catch.hpp>

#include <sys/socket.h>

#include <thread>

using namespace nodepack::auth;
using namespace std::chrono_literals;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using nodepack::http::Reply;
using nodepack::http::Request;
using nodepack::http::RequestInfo;
using nodepack::testing::TempDir;
using nodepack::testing::TestCa;

namespace {

// GET /usage/<namespace>: who may see it.
nodepack::http::Router guarded_router(Authenticator& auth) {
  nodepack::http::Router router;
  router.add_async_prefix("/usage/", [&auth](const Request& request, const RequestInfo& info) -> net::awaitable<Reply> {
    auto who = auth.authenticate(request, info);
    if (auto* refused = std::get_if<nodepack::http::Response>(&who)) {
      co_return Reply{std::move(*refused), {}};
    }
    const auto& principal = std::get<Principal>(who);
    const auto ns = nodepack::http::target_path(request).substr(7);
    if (!principal.allows(ns)) {
      co_return Reply{forbidden_namespace(request, principal, ns), {}};
    }
    co_return Reply{
        nodepack::http::make_response(request, bhttp::status::ok, principal.user + " sees " + std::string(ns)), {}};
  });
  return router;
}

class HttpsClient {
 public:
  HttpsClient(unsigned short port, const std::string& ca_pem) : ctx_(ssl::context::tls_client), port_(port) {
    ctx_.add_certificate_authority(net::buffer(ca_pem));
    ctx_.set_verify_mode(ssl::verify_peer);
    ctx_.set_verify_callback(ssl::host_name_verification("localhost"));
  }
  // One request per connection, as simple clients do.
  bhttp::response<bhttp::string_body> get(const std::string& target,
                                          std::vector<std::pair<std::string, std::string>> headers = {}) {
    net::io_context io;
    ssl::stream<tcp::socket> stream(io, ctx_);
    stream.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_));
    timeval tv{5, 0};
    ::setsockopt(stream.next_layer().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    SSL_set_tlsext_host_name(stream.native_handle(), "localhost");
    stream.handshake(ssl::stream_base::client);
    bhttp::request<bhttp::empty_body> request{bhttp::verb::get, target, 11};
    request.set(bhttp::field::host, "localhost");
    for (auto& [name, value] : headers) {
      request.insert(name, value);
    }
    bhttp::write(stream, request);
    boost::beast::flat_buffer buffer;
    bhttp::response<bhttp::string_body> response;
    bhttp::read(stream, buffer, response);
    return response;
  }

 private:
  ssl::context ctx_;
  unsigned short port_;
};

}  // namespace

TEST_CASE("authentication over HTTPS: right, wrong, missing, rate-limited, restricted namespace") {
  TempDir dir;
  TestCa ca;
  const auto server_cert = ca.issue_server("localhost", {"localhost"}, {"127.0.0.1"});
  nodepack::ManualClock clock;
  AuthOptions options;
  options.users_file = dir.write("users", "billing:" + hash_password("open sesame", "$y$").value() + "\nteam-a-lead:" +
                                              hash_password("lead-pw", "$2b$", 5).value() + ":team-a\n");
  options.tokens_file = dir.write("tokens", "exporter:sha256:" + to_hex(sha256("tok-export")) + "\n");
  options.clock = clock;
  auto auth = Authenticator::create(options).value();

  nodepack::http::ServerLimits limits;
  limits.tls = nodepack::http::make_server_tls_context(
                   {dir.write("tls.crt", server_cert.cert_pem), dir.write("tls.key", server_cert.key_pem), {}})
                   .value();
  net::io_context io;
  nodepack::http::Server server(io, guarded_router(*auth), limits);
  REQUIRE(server.listen("127.0.0.1:0").has_value());
  std::thread thread([&io] { io.run(); });
  HttpsClient client(server.endpoint().port(), ca.cert_pem());

  // "billing:open sesame" and "team-a-lead:lead-pw" in base64.
  const std::pair<std::string, std::string> billing{"Authorization", "Basic YmlsbGluZzpvcGVuIHNlc2FtZQ=="};
  const std::pair<std::string, std::string> lead{"Authorization", "Basic dGVhbS1hLWxlYWQ6bGVhZC1wdw=="};

  auto right = client.get("/usage/team-b", {billing});
  CHECK(right.result() == bhttp::status::ok);
  CHECK(right.body() == "billing sees team-b");
  CHECK(client.get("/usage/team-b", {{"X-USERNAME", "billing"}, {"X-PASSWORD", "open sesame"}}).body() ==
        "billing sees team-b");
  CHECK(client.get("/usage/kube-system", {{"Authorization", "Bearer tok-export"}}).body() ==
        "exporter sees kube-system");

  auto missing = client.get("/usage/team-a");
  CHECK(missing.result() == bhttp::status::unauthorized);
  CHECK(missing[bhttp::field::content_type] == "application/json");
  CHECK(missing.count(bhttp::field::www_authenticate) == 2);

  auto restricted = client.get("/usage/team-b", {lead});
  CHECK(restricted.result() == bhttp::status::forbidden);
  CHECK(restricted.body() ==
        R"({"error":"forbidden","reason":"user \"team-a-lead\" may not read namespace \"team-b\""})");
  CHECK(client.get("/usage/team-a", {lead}).body() == "team-a-lead sees team-a");

  for (int i = 0; i < 5; ++i) {
    auto wrong = client.get("/usage/team-a", {{"X-USERNAME", "billing"}, {"X-PASSWORD", "guess"}});
    CHECK(wrong.result() == bhttp::status::unauthorized);
    CHECK(wrong.body() == R"({"error":"unauthorized","reason":"wrong user name or password"})");
  }
  auto limited = client.get("/usage/team-a", {billing});
  CHECK(limited.result() == bhttp::status::too_many_requests);
  CHECK(limited[bhttp::field::retry_after] == "60");
  clock.advance(60s);
  CHECK(client.get("/usage/team-a", {billing}).result() == bhttp::status::ok);

  server.stop();
  thread.join();
}
