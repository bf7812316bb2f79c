// The HTTP server over TLS, with certificates made at test time: requests succeed over TLS, a
// plain-HTTP request gets a readable 400 and the server keeps serving, bad files are refused with
// the file's name, TLS 1.1 is refused, client certificates are required when configured.

#include "http/server.hpp"
#include "http/tls.hpp"
#include "tests/http/plain_server.hpp"
#include "tests/http/test_certs.hpp"
#include "tests/support/temp_dir.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <catch2/catch.hpp>

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;
using nodepack::http::Reply;
using nodepack::http::Request;
using nodepack::http::RequestInfo;
using nodepack::http::Router;
using nodepack::http::Server;
using nodepack::http::ServerLimits;
using nodepack::http::TlsFiles;
using nodepack::testing::CertAndKey;
using nodepack::testing::TempDir;
using nodepack::testing::TestCa;
using nodepack::testing::wait_until;

namespace {

Router tls_router() {
  Router router;
  router.add("/hello", [](const Request& r) {
    return Reply{nodepack::http::make_response(r, bhttp::status::ok, "hello"), {}};
  });
  router.add("/healthz", [](const Request& r) {
    return Reply{nodepack::http::make_response(r, bhttp::status::ok, "ok"), {}};
  });
  router.add_async("/info", [](const Request& r, const RequestInfo& info) -> net::awaitable<Reply> {
    co_return Reply{nodepack::http::make_response(
                        r, bhttp::status::ok,
                        std::string(info.tls ? "tls" : "plain") + " from " + info.remote.address().to_string()),
                    {}};
  });
  router.add("/stream", [](const Request& r) {
    Reply reply{nodepack::http::make_response(r, bhttp::status::ok, ""), {}};
    reply.stream = [](nodepack::http::ChunkWriter& out) -> net::awaitable<void> {
      for (int i = 0; i < 3; ++i) {
        co_await out.write("chunk " + std::to_string(i) + "\n");
      }
    };
    return reply;
  });
  return router;
}

// Server certificate files in a temp dir, and the server on 127.0.0.1:0 with its own thread.
class TlsServer {
 public:
  TlsServer(const TempDir& dir, const CertAndKey& server_cert, std::string client_ca_pem = {},
            ServerLimits limits = {}) {
    TlsFiles files{dir.write("server.crt", server_cert.cert_pem), dir.write("server.key", server_cert.key_pem), {}};
    if (!client_ca_pem.empty()) {
      files.client_ca = dir.write("client-ca.crt", client_ca_pem);
    }
    auto ctx = nodepack::http::make_server_tls_context(files);
    REQUIRE(ctx.has_value());
    limits.tls = *ctx;
    server_ = std::make_unique<Server>(io_, tls_router(), limits);
    REQUIRE(server_->listen("127.0.0.1:0").has_value());
    thread_ = std::thread([this] { io_.run(); });
  }
  ~TlsServer() {
    server_->stop();
    thread_.join();
  }
  Server& server() { return *server_; }
  unsigned short port() const { return server_->endpoint().port(); }

 private:
  net::io_context io_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
};

struct ClientSetup {
  std::string ca_pem;  // trusted CA; empty: no verification
  std::string verify_host = "localhost";
  CertAndKey client;    // client certificate, when set
  int max_version = 0;  // e.g. TLS1_1_VERSION to try an old protocol
};

ssl::context client_context(const ClientSetup& setup) {
  ssl::context ctx(ssl::context::tls_client);
  if (setup.max_version != 0) {
    // Let the client offer an old protocol at all, so that the refusal is the server's.
    SSL_CTX_set_security_level(ctx.native_handle(), 0);
    SSL_CTX_set_cipher_list(ctx.native_handle(), "DEFAULT:@SECLEVEL=0");
    SSL_CTX_set_min_proto_version(ctx.native_handle(), 0);
    SSL_CTX_set_max_proto_version(ctx.native_handle(), setup.max_version);
  }
  if (!setup.ca_pem.empty()) {
    ctx.add_certificate_authority(net::buffer(setup.ca_pem));
    ctx.set_verify_mode(ssl::verify_peer);
    ctx.set_verify_callback(ssl::host_name_verification(setup.verify_host));
  }
  if (!setup.client.cert_pem.empty()) {
    ctx.use_certificate_chain(net::buffer(setup.client.cert_pem));
    ctx.use_private_key(net::buffer(setup.client.key_pem), ssl::context::pem);
  }
  return ctx;
}

// A blocking TLS client; a receive timeout keeps a broken server from hanging the test.
class TlsClient {
 public:
  TlsClient(unsigned short port, const ClientSetup& setup) : ctx_(client_context(setup)), stream_(io_, ctx_) {
    stream_.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    timeval tv{5, 0};
    ::setsockopt(stream_.next_layer().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    SSL_set_tlsext_host_name(stream_.native_handle(), setup.verify_host.c_str());
  }

  boost::system::error_code handshake() {
    boost::system::error_code ec;
    stream_.handshake(ssl::stream_base::client, ec);
    return ec;
  }
  // After a successful handshake.
  bhttp::response<bhttp::string_body> get(const std::string& target, bool keep_alive = true) {
    bhttp::request<bhttp::empty_body> request{bhttp::verb::get, target, 11};
    request.set(bhttp::field::host, "localhost");
    request.keep_alive(keep_alive);
    bhttp::write(stream_, request);
    bhttp::response<bhttp::string_body> response;
    bhttp::read(stream_, buffer_, response);
    return response;
  }
  std::string version() { return SSL_get_version(stream_.native_handle()); }
  ssl::stream<tcp::socket>& stream() { return stream_; }

 private:
  net::io_context io_;
  ssl::context ctx_;
  ssl::stream<tcp::socket> stream_;
  boost::beast::flat_buffer buffer_;
};

}  // namespace

TEST_CASE("a TLS request succeeds and the handler knows it came over TLS") {
  TempDir dir;
  TestCa ca;
  TlsServer ts(dir, ca.issue_server("localhost", {"localhost"}, {"127.0.0.1"}));
  TlsClient client(ts.port(), {ca.cert_pem()});
  REQUIRE(client.handshake() == boost::system::error_code());
  CHECK((client.version() == "TLSv1.3" || client.version() == "TLSv1.2"));
  auto hello = client.get("/hello");
  CHECK(hello.result() == bhttp::status::ok);
  CHECK(hello.body() == "hello");
  // Keep-alive over the same TLS connection, through an async route.
  auto info = client.get("/info");
  CHECK(info.body() == "tls from 127.0.0.1");
  // A streaming (chunked) reply, then Connection: close ends with a clean TLS close_notify.
  auto streamed = client.get("/stream", false);
  CHECK(streamed.body() == "chunk 0\nchunk 1\nchunk 2\n");
  boost::system::error_code ec;
  client.stream().shutdown(ec);
  CHECK(ec == boost::system::error_code());
  CHECK(ts.server().stats().requests.load() == 3);
  CHECK(ts.server().stats().tls_handshake_errors.load() == 0);
}

TEST_CASE("a self-signed certificate works when the client trusts it") {
  TempDir dir;
  const auto cert = nodepack::testing::self_signed("localhost", {"localhost"}, {"127.0.0.1"});
  TlsServer ts(dir, cert);
  TlsClient client(ts.port(), {cert.cert_pem});
  REQUIRE(client.handshake() == boost::system::error_code());
  CHECK(client.get("/hello").body() == "hello");
}

TEST_CASE("a plain-HTTP request to a TLS port gets a plain 400 and the server keeps serving") {
  TempDir dir;
  TestCa ca;
  TlsServer ts(dir, ca.issue_server("localhost", {"localhost"}, {"127.0.0.1"}));
  {
    net::io_context io;
    tcp::socket plain(io);
    plain.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), ts.port()));
    timeval tv{5, 0};
    ::setsockopt(plain.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    net::write(plain, net::buffer(std::string("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")));
    boost::beast::flat_buffer buffer;
    bhttp::response<bhttp::string_body> response;
    bhttp::read(plain, buffer, response);
    CHECK(response.result() == bhttp::status::bad_request);
    CHECK(response.body() == "this port speaks HTTPS; the request was plain HTTP\n");
    CHECK_FALSE(response.keep_alive());
  }
  CHECK(ts.server().stats().tls_handshake_errors.load() == 1);
  CHECK(ts.server().stats().requests.load() == 0);
  // Garbage that starts like a TLS record: the handshake fails, the server stays.
  {
    net::io_context io;
    tcp::socket junk(io);
    junk.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), ts.port()));
    net::write(junk, net::buffer(std::string("\x16\x03\x01\x00\x05hello-not-tls", 18)));
    char c;
    boost::system::error_code ec;
    junk.read_some(net::buffer(&c, 1), ec);  // an alert or the close; either way it ends
  }
  REQUIRE(wait_until([&] { return ts.server().stats().tls_handshake_errors.load() == 2; }));
  TlsClient client(ts.port(), {ca.cert_pem()});
  REQUIRE(client.handshake() == boost::system::error_code());
  CHECK(client.get("/hello").body() == "hello");
}

TEST_CASE("a TLS handshake that never starts is cut off at the read timeout") {
  TempDir dir;
  TestCa ca;
  ServerLimits limits;
  limits.header_timeout = 200ms;
  TlsServer ts(dir, ca.issue_server("localhost", {"localhost"}, {"127.0.0.1"}), {}, limits);
  net::io_context io;
  tcp::socket idle(io);
  idle.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), ts.port()));
  timeval tv{5, 0};
  ::setsockopt(idle.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const auto started = std::chrono::steady_clock::now();
  char c;
  boost::system::error_code ec;
  idle.read_some(net::buffer(&c, 1), ec);
  CHECK((ec == net::error::eof || ec == net::error::connection_reset));
  CHECK(std::chrono::steady_clock::now() - started < 4s);
  REQUIRE(wait_until([&] { return ts.server().stats().tls_handshake_errors.load() == 1; }));
  REQUIRE(wait_until([&] { return ts.server().stats().connections_active.load() == 0; }));
}

TEST_CASE("TLS 1.1 is refused, TLS 1.2 is accepted") {
  TempDir dir;
  TestCa ca;
  TlsServer ts(dir, ca.issue_server("localhost", {"localhost"}, {"127.0.0.1"}));
  {
    TlsClient old_client(ts.port(), {ca.cert_pem(), "localhost", {}, TLS1_1_VERSION});
    CHECK(old_client.handshake() != boost::system::error_code());
  }
  TlsClient client(ts.port(), {ca.cert_pem(), "localhost", {}, TLS1_2_VERSION});
  REQUIRE(client.handshake() == boost::system::error_code());
  CHECK(client.version() == "TLSv1.2");
  CHECK(client.get("/hello").body() == "hello");
}

TEST_CASE("a client certificate is required when the server names a client CA") {
  TempDir dir;
  TestCa server_ca("server CA");
  TestCa client_ca("client CA");
  TestCa other_ca("someone else's CA");
  TlsServer ts(dir, server_ca.issue_server("localhost", {"localhost"}, {"127.0.0.1"}), client_ca.cert_pem());

  TlsClient with_cert(ts.port(), {server_ca.cert_pem(), "localhost", client_ca.issue_client("billing")});
  REQUIRE(with_cert.handshake() == boost::system::error_code());
  CHECK(with_cert.get("/hello").body() == "hello");

  // TLS 1.3 clients finish their side of the handshake before the server checks the certificate,
  // so a refusal shows at the handshake or, at the latest, at the first read.
  const auto refused = [&](const ClientSetup& setup) {
    TlsClient client(ts.port(), setup);
    if (client.handshake()) {
      return true;
    }
    try {
      client.get("/hello");
      return false;
    } catch (const boost::system::system_error&) {
      return true;
    }
  };
  CHECK(refused({server_ca.cert_pem(), "localhost", {}}));
  CHECK(refused({server_ca.cert_pem(), "localhost", other_ca.issue_client("intruder")}));
  REQUIRE(wait_until([&] { return ts.server().stats().tls_handshake_errors.load() == 2; }));
  CHECK(ts.server().stats().requests.load() == 1);
}

TEST_CASE("the client refuses a server whose certificate names another host") {
  TempDir dir;
  TestCa ca;
  TlsServer ts(dir, ca.issue_server("elsewhere", {"elsewhere.example"}, {}));
  TlsClient client(ts.port(), {ca.cert_pem(), "localhost"});
  CHECK(client.handshake() != boost::system::error_code());
  // The server is fine afterwards.
  TlsClient right(ts.port(), {ca.cert_pem(), "elsewhere.example"});
  REQUIRE(right.handshake() == boost::system::error_code());
  CHECK(right.get("/hello").body() == "hello");
}

TEST_CASE("bad TLS files are refused with the file's name") {
  TempDir dir;
  TestCa ca;
  const auto good = ca.issue_server("localhost", {"localhost"}, {});
  const auto other = ca.issue_server("other", {"other"}, {});
  const auto cert = dir.write("server.crt", good.cert_pem);
  const auto key = dir.write("server.key", good.key_pem);
  const auto other_key = dir.write("other.key", other.key_pem);
  const auto text = dir.write("notes.txt", "just some text\n");
  const auto broken =
      dir.write("broken.crt", "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n");
  const auto missing = dir.path() / "missing.crt";

  REQUIRE(nodepack::http::make_server_tls_context({cert, key, {}}).has_value());

  const auto error_of = [](const TlsFiles& files) {
    auto ctx = nodepack::http::make_server_tls_context(files);
    REQUIRE_FALSE(ctx.has_value());
    return ctx.error().message;
  };
  CHECK(error_of({missing, key, {}}) == "TLS certificate " + missing.string() + ": cannot read the file");
  CHECK(error_of({text, key, {}}) == "TLS certificate " + text.string() + ": not a PEM file (no \"-----BEGIN\" line)");
  CHECK(error_of({cert, text, {}}) == "TLS private key " + text.string() + ": not a PEM file (no \"-----BEGIN\" line)");
  CHECK(error_of({broken, key, {}}).starts_with("TLS certificate " + broken.string() + ": "));
  CHECK(error_of({cert, other_key, {}}) ==
        "TLS private key " + other_key.string() + " does not belong to the certificate " + cert.string());
  CHECK(error_of({cert, key, missing}) == "TLS client CA " + missing.string() + ": cannot read the file");
  CHECK(error_of({cert, {}, {}}) == "TLS needs both a certificate (--tls-cert) and a private key (--tls-key)");
}

TEST_CASE("stop closes open TLS connections, and a TLS client over the cap gets a 503") {
  TempDir dir;
  TestCa ca;
  ServerLimits limits;
  limits.max_connections = 1;
  auto ts = std::make_unique<TlsServer>(dir, ca.issue_server("localhost", {"localhost"}, {"127.0.0.1"}), "", limits);
  TlsClient first(ts->port(), {ca.cert_pem()});
  REQUIRE(first.handshake() == boost::system::error_code());
  CHECK(first.get("/hello").body() == "hello");
  // Mid-request, the only slot cannot be taken from it.
  REQUIRE(wait_until([&] { return ts->server().stats().connections_idle.load() == 1; }));
  net::write(first.stream(), net::buffer(std::string("GET /hello HTTP/1.1\r\n")));
  REQUIRE(wait_until([&] { return ts->server().stats().connections_idle.load() == 0; }));

  TlsClient second(ts->port(), {ca.cert_pem()});
  REQUIRE(second.handshake() == boost::system::error_code());
  const auto over = second.get("/hello");
  CHECK(over.result() == bhttp::status::service_unavailable);
  CHECK(over.body() == "too many connections\n");
  CHECK(ts->server().stats().connections_rejected.load() == 1);

  // The first connection is mid-request; stopping closes it and the io thread ends.
  ts->server().stop();
  REQUIRE(wait_until([&] { return ts->server().stats().connections_active.load() == 0; }));
  ts.reset();
  CHECK_THROWS_AS(first.get("/hello"), boost::system::system_error);
}

TEST_CASE("sockets over the cap on a TLS port build no TLS state, and descriptors stay bounded") {
  TempDir dir;
  TestCa ca;
  ServerLimits limits;
  limits.max_connections = 2;
  limits.health_connections = 2;
  TlsServer ts(dir, ca.issue_server("localhost", {"localhost"}, {"127.0.0.1"}), "", limits);
  const auto& stats = ts.server().stats();
  // Two TLS clients hold the regular slots, each in the middle of its second request. (Once both
  // are idle after the first, the only way for the idle count to drop is their next request.)
  std::vector<std::unique_ptr<TlsClient>> holders;
  for (int i = 0; i < 2; ++i) {
    holders.push_back(std::make_unique<TlsClient>(ts.port(), ClientSetup{ca.cert_pem()}));
    REQUIRE(holders.back()->handshake() == boost::system::error_code());
    REQUIRE(holders.back()->get("/hello").body() == "hello");
  }
  REQUIRE(wait_until([&] { return stats.connections_idle.load() == 2; }));
  for (auto& holder : holders) {
    net::write(holder->stream(), net::buffer(std::string("GET /hello HTTP/1.1\r\n")));
  }
  REQUIRE(wait_until([&] { return stats.connections_active.load() == 2 && stats.connections_idle.load() == 0; }));
  REQUIRE(stats.tls_streams_created.load() == 2);

  // As in the incident, on a smaller scale: TCP connections that never speak. Each takes a health
  // slot in turn and evicts the older silent one; none gets TLS state.
  constexpr std::size_t silent_count = 200;
  const auto before = nodepack::testing::open_descriptors();
  net::io_context io;
  std::vector<tcp::socket> silent;
  for (std::size_t i = 0; i < silent_count; ++i) {
    silent.emplace_back(io).connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), ts.port()));
  }
  REQUIRE(wait_until([&] { return stats.connections_rejected.load() == silent_count; }));
  CHECK(stats.tls_streams_created.load() == 2);
  CHECK(stats.health_evictions.load() == silent_count - limits.health_connections);
  // Our own 200 client sockets, plus on the server's side at most the two health slots (and the
  // io_context's descriptors); before the fix, a descriptor and TLS state per socket.
  CHECK(wait_until(
      [&] { return nodepack::testing::open_descriptors() <= before + silent_count + limits.health_connections + 4; }));

  // A probe still gets through, over TLS, from a health slot.
  TlsClient probe(ts.port(), {ca.cert_pem()});
  REQUIRE(probe.handshake() == boost::system::error_code());
  const auto answered = probe.get("/healthz");
  CHECK(answered.result() == bhttp::status::ok);
  CHECK(answered.body() == "ok");
  CHECK(stats.tls_streams_created.load() == 3);
  CHECK(stats.health_requests.load() == 1);
}
