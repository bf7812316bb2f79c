// The HTTP server over real sockets on port 0. Every wait is on a condition with a deadline.

#include "http/server.hpp"
#include "tests/http/plain_server.hpp"

#include <zlib.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <catch2/catch.hpp>

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace net = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;
using nodepack::http::Reply;
using nodepack::http::Request;
using nodepack::http::Router;
using nodepack::http::Server;
using nodepack::http::ServerLimits;
using nodepack::testing::Client;
using nodepack::testing::TestServer;
using nodepack::testing::text;
using nodepack::testing::wait_until;

namespace {

Router basic_router() {
  Router router;
  router.add("/hello", [](const Request& r) { return text(r, "hello"); });
  router.add("/echo", [](const Request& r) { return text(r, "name=" + nodepack::http::query_param(r, "name")); });
  router.add_prefix("/files/",
                    [](const Request& r) { return text(r, "files:" + std::string(nodepack::http::target_path(r))); });
  router.add_prefix("/files/deep/", [](const Request& r) { return text(r, "deep"); });
  router.add("/only-get", [](const Request& r) {
    if (r.method() != bhttp::verb::get && r.method() != bhttp::verb::head) {
      auto res = nodepack::http::make_response(r, bhttp::status::method_not_allowed, "method not allowed\n");
      res.set(bhttp::field::allow, "GET, HEAD");
      return Reply{std::move(res), {}};
    }
    return text(r, "got");
  });
  router.add("/big", [](const Request& r) {
    std::string body;
    for (int i = 0; i < 400; ++i) {
      body += "line " + std::to_string(i) + " of a compressible body\n";
    }
    auto res = nodepack::http::make_response(r, bhttp::status::ok, body);
    nodepack::http::maybe_gzip(r, res);
    return Reply{std::move(res), {}};
  });
  router.add("/throw", [](const Request&) -> Reply { throw std::runtime_error("boom"); });
  return router;
}

std::string gunzip(const std::string& in) {
  z_stream zs{};
  REQUIRE(inflateInit2(&zs, 15 + 32) == Z_OK);
  std::string out;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  int rc = Z_OK;
  char chunk[65536];
  while (rc == Z_OK) {
    zs.next_out = reinterpret_cast<Bytef*>(chunk);
    zs.avail_out = sizeof chunk;
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(chunk, sizeof chunk - zs.avail_out);
  }
  inflateEnd(&zs);
  REQUIRE(rc == Z_STREAM_END);
  return out;
}

}  // namespace

TEST_CASE("listen addresses are parsed or refused clearly") {
  using nodepack::http::parse_listen_address;
  CHECK(parse_listen_address(":9101").value().port() == 9101);
  CHECK(parse_listen_address("127.0.0.1:0").value().address().to_string() == "127.0.0.1");
  CHECK(parse_listen_address("[::1]:0").value().address().is_v6());
  CHECK(parse_listen_address("localhost:0").value().address().is_loopback());
  for (const char* bad : {"", "9101", "127.0.0.1", "127.0.0.1:", "1.2.3.4:99999", "::1:80", "[::1]80", "[::1",
                          "host name:80", "[127.0.0.1]:80", "127.0.0.1:8x"}) {
    INFO(bad);
    auto parsed = parse_listen_address(bad);
    REQUIRE_FALSE(parsed.has_value());
    CHECK(parsed.error().message.find("listen address") != std::string::npos);
  }
}

TEST_CASE("routes exact paths, longest prefixes and answers 404 otherwise") {
  TestServer ts(basic_router());
  Client c(ts.port());
  auto r = c.get("/hello");
  CHECK(r.result() == bhttp::status::ok);
  CHECK(r.body() == "hello");
  CHECK(c.get("/echo?x=1&name=a%20b+c").body() == "name=a b c");
  CHECK(c.get("/files/a/b?q=1").body() == "files:/files/a/b");
  CHECK(c.get("/files/deep/x").body() == "deep");
  auto missing = c.get("/nope");
  CHECK(missing.result() == bhttp::status::not_found);
  CHECK(c.get("/hello?with=query").body() == "hello");

  c.send("POST /only-get HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi");
  auto not_allowed = c.read();
  CHECK(not_allowed.result() == bhttp::status::method_not_allowed);
  CHECK(not_allowed[bhttp::field::allow] == "GET, HEAD");
  CHECK(ts.server().stats().requests.load() == 7);
}

TEST_CASE("keep-alive serves two requests on one connection") {
  TestServer ts(basic_router());
  Client c(ts.port());
  CHECK(c.get("/hello").body() == "hello");
  CHECK(c.get("/echo?name=two").body() == "name=two");
  CHECK(ts.server().stats().connections_accepted.load() == 1);
  // Connection: close is honoured.
  auto last = c.get("/hello", {{"Connection", "close"}});
  CHECK_FALSE(last.keep_alive());
  CHECK(c.closed_by_peer());
}

TEST_CASE("HEAD gets GET's headers without a body") {
  TestServer ts(basic_router());
  Client c(ts.port());
  c.send("HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n");
  auto head = c.read(true);
  CHECK(head.result() == bhttp::status::ok);
  CHECK(head[bhttp::field::content_length] == "5");
  CHECK(head.body().empty());
  // The connection is still in sync: the next reply is read intact.
  CHECK(c.get("/hello").body() == "hello");
}

TEST_CASE("gzip only when accepted and worthwhile, and it round-trips") {
  TestServer ts(basic_router());
  Client c(ts.port());
  auto plain = c.get("/big");
  CHECK(plain.count(bhttp::field::content_encoding) == 0);
  REQUIRE(plain.body().size() > 1024);

  auto zipped = c.get("/big", {{"Accept-Encoding", "deflate, gzip;q=0.8"}});
  CHECK(zipped[bhttp::field::content_encoding] == "gzip");
  CHECK(zipped[bhttp::field::vary] == "Accept-Encoding");
  CHECK(zipped.body().size() < plain.body().size() / 4);
  CHECK(gunzip(zipped.body()) == plain.body());

  CHECK(c.get("/big", {{"Accept-Encoding", "gzip;q=0"}}).count(bhttp::field::content_encoding) == 0);
  CHECK(c.get("/big", {{"Accept-Encoding", "br"}}).count(bhttp::field::content_encoding) == 0);
  CHECK(c.get("/big", {{"Accept-Encoding", "*"}})[bhttp::field::content_encoding] == "gzip");

  // Small bodies stay as they are.
  Request small{bhttp::verb::get, "/", 11};
  small.set(bhttp::field::accept_encoding, "gzip");
  auto res = nodepack::http::make_response(small, bhttp::status::ok, "tiny");
  nodepack::http::maybe_gzip(small, res);
  CHECK(res.body() == "tiny");
  CHECK(res.count(bhttp::field::content_encoding) == 0);
}

TEST_CASE("a plain body is handed back to its handler once written") {
  std::mutex mutex;
  std::vector<std::string> given_back;
  Router router;
  router.add("/recycled", [&](const Request& r) {
    auto reply = text(r, "body to reuse");
    reply.recycle_body = [&](std::string&& body) {
      const std::lock_guard lock(mutex);
      given_back.push_back(std::move(body));
    };
    return reply;
  });
  TestServer ts(std::move(router));
  Client c(ts.port());
  CHECK(c.get("/recycled").body() == "body to reuse");
  CHECK(c.get("/recycled").body() == "body to reuse");  // kept alive: a second one on the same connection
  REQUIRE(wait_until([&] {
    const std::lock_guard lock(mutex);
    return given_back.size() == 2;
  }));
  const std::lock_guard lock(mutex);
  CHECK(given_back[0] == "body to reuse");
  CHECK(given_back[1] == "body to reuse");
}

TEST_CASE("gzip round-trips bodies that compress badly, one after another, and hands back the original") {
  // The compressor is kept between replies and its output grows as needed: a body that does not
  // compress (pseudo-random bytes) comes out larger than the first guess, and the next body must
  // not carry anything of the one before.
  Request request{bhttp::verb::get, "/", 11};
  request.set(bhttp::field::accept_encoding, "gzip");
  std::uint64_t x = 0x9e3779b97f4a7c15ULL;
  std::string noise(300000, '\0');
  for (char& c : noise) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>(x);
  }
  const std::string text(200000, 'a');
  const std::string* bodies[] = {&noise, &text, &noise};
  for (const std::string* body : bodies) {
    auto res = nodepack::http::make_response(request, bhttp::status::ok, *body);
    const std::string identity = nodepack::http::maybe_gzip(request, res);
    CHECK(identity == *body);
    REQUIRE(res[bhttp::field::content_encoding] == "gzip");
    CHECK(res[bhttp::field::content_length] == std::to_string(res.body().size()));
    CHECK(gunzip(res.body()) == *body);
  }
}

TEST_CASE("a malformed request gets 400 and the server keeps serving") {
  TestServer ts(basic_router());
  {
    Client c(ts.port());
    c.send("GARBAGE\r\n\r\n");
    auto r = c.read();
    CHECK(r.result() == bhttp::status::bad_request);
    CHECK(c.closed_by_peer());
  }
  CHECK(ts.server().stats().bad_requests.load() == 1);
  Client next(ts.port());
  CHECK(next.get("/hello").body() == "hello");
}

TEST_CASE("a header over the limit gets 431") {
  ServerLimits limits;
  limits.header_limit = 1024;
  TestServer ts(basic_router(), limits);
  Client c(ts.port());
  c.send("GET /hello HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(4096, 'x') + "\r\n\r\n");
  auto r = c.read();
  CHECK(r.result() == bhttp::status::request_header_fields_too_large);
  CHECK(ts.server().stats().bad_requests.load() == 1);
}

TEST_CASE("a body over the limit gets 413") {
  ServerLimits limits;
  limits.body_limit = 100;
  TestServer ts(basic_router(), limits);
  Client c(ts.port());
  c.send("POST /hello HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n" + std::string(1000, 'b'));
  auto r = c.read();
  CHECK(r.result() == bhttp::status::payload_too_large);
  // Within the limit is fine.
  Client ok(ts.port());
  ok.send("POST /hello HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n0123456789");
  CHECK(ok.read().body() == "hello");
}

TEST_CASE("a handler that throws gets 500 and the server keeps serving") {
  TestServer ts(basic_router());
  Client c(ts.port());
  CHECK(c.get("/throw").result() == bhttp::status::internal_server_error);
  Client next(ts.port());
  CHECK(next.get("/hello").body() == "hello");
}

TEST_CASE("a slow client is cut off after the read timeout") {
  ServerLimits limits;
  limits.header_timeout = 200ms;
  TestServer ts(basic_router(), limits);
  Client c(ts.port());
  c.send("GET /hello HTTP/1.1\r\nHost: t\r\n");  // never finishes the header
  const auto start = std::chrono::steady_clock::now();
  CHECK(c.closed_by_peer());
  CHECK(std::chrono::steady_clock::now() - start < 4s);  // cut off by the server, not the client's 5 s guard
  CHECK(wait_until([&] { return ts.server().stats().bad_requests.load() == 1; }));
  CHECK(wait_until([&] { return ts.server().stats().connections_active.load() == 0; }));
}

TEST_CASE("connections over the cap get 503 and are closed") {
  ServerLimits limits;
  limits.max_connections = 2;
  TestServer ts(basic_router(), limits);
  // Both slots hold a request in progress: working connections are never closed to make room.
  auto a = std::make_unique<Client>(ts.port());
  Client b(ts.port());
  a->send("GET /hello HTTP/1.1\r\n");
  b.send("GET /hello HTTP/1.1\r\n");
  REQUIRE(
      wait_until([&] { return ts.stats().connections_active.load() == 2 && ts.stats().connections_idle.load() == 0; }));
  Client over(ts.port());
  over.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
  auto rejected = over.read();
  CHECK(rejected.result() == bhttp::status::service_unavailable);
  CHECK(rejected.body() == "too many connections\n");
  CHECK(over.closed_by_peer());
  CHECK(ts.stats().connections_rejected.load() == 1);
  CHECK(ts.stats().idle_evictions.load() == 0);
  // The admitted ones still work, and freeing a slot admits a new connection.
  b.send("Host: t\r\n\r\n");
  CHECK(b.read().body() == "hello");
  a.reset();
  REQUIRE(wait_until([&] { return ts.stats().connections_active.load() == 1; }));
  Client again(ts.port());
  CHECK(again.get("/hello").body() == "hello");
  CHECK(ts.stats().connections_accepted.load() == 3);
}

TEST_CASE("a streaming reply arrives as chunks") {
  Router router;
  router.add("/stream", [](const Request& r) {
    Reply reply{nodepack::http::make_response(r, bhttp::status::ok, "", "application/json"), {}};
    reply.stream = [](nodepack::http::ChunkWriter& w) -> net::awaitable<void> {
      for (std::string part : {"one\n", "", "two\n", "three\n"}) {
        if (!co_await w.write(part)) {
          co_return;
        }
      }
    };
    return reply;
  });
  TestServer ts(std::move(router));
  Client c(ts.port());
  c.send("GET /stream HTTP/1.1\r\nHost: t\r\n\r\n");
  bhttp::response_parser<bhttp::string_body> parser;
  std::vector<std::size_t> sizes;
  auto on_header = [&](std::uint64_t size, std::string_view, boost::system::error_code&) {
    sizes.push_back(static_cast<std::size_t>(size));
  };
  parser.on_chunk_header(on_header);
  bhttp::read(c.socket(), c.buffer(), parser);
  CHECK(parser.get().chunked());
  CHECK(parser.get().body() == "one\ntwo\nthree\n");
  CHECK(sizes == std::vector<std::size_t>{4, 4, 6, 0});
  // Keep-alive survives a streamed reply.
  CHECK(c.get("/stream").body() == "one\ntwo\nthree\n");
}

TEST_CASE("a stream's writes report false once the peer is gone") {
  std::atomic<bool> saw_false{false};
  std::atomic<int> writes{0};
  Router router;
  router.add("/forever", [&](const Request& r) {
    Reply reply{nodepack::http::make_response(r, bhttp::status::ok, ""), {}};
    reply.stream = [&](nodepack::http::ChunkWriter& w) -> net::awaitable<void> {
      net::steady_timer timer(co_await net::this_coro::executor);
      const std::string payload(16 * 1024, 'x');
      for (;;) {
        if (!co_await w.write(payload)) {
          saw_false = true;
          co_return;
        }
        ++writes;
        timer.expires_after(1ms);
        co_await timer.async_wait(net::use_awaitable);
      }
    };
    return reply;
  });
  TestServer ts(std::move(router));
  {
    Client c(ts.port());
    c.send("GET /forever HTTP/1.1\r\nHost: t\r\n\r\n");
    REQUIRE(wait_until([&] { return writes.load() > 2; }));
  }
  CHECK(wait_until([&] { return saw_false.load(); }));
  CHECK(wait_until([&] { return ts.server().stats().connections_active.load() == 0; }));
}

TEST_CASE("stop() closes idle and streaming connections so run() returns") {
  std::atomic<bool> streaming{false};
  Router router = basic_router();
  router.add("/hang", [&](const Request& r) {
    Reply reply{nodepack::http::make_response(r, bhttp::status::ok, ""), {}};
    reply.stream = [&](nodepack::http::ChunkWriter& w) -> net::awaitable<void> {
      co_await w.write("started\n");
      streaming = true;
      net::steady_timer timer(co_await net::this_coro::executor, std::chrono::hours(1));
      co_await timer.async_wait(net::use_awaitable);
    };
    return reply;
  });
  TestServer ts(std::move(router));
  Client idle(ts.port());
  CHECK(idle.get("/hello").body() == "hello");
  Client stream(ts.port());
  stream.send("GET /hang HTTP/1.1\r\nHost: t\r\n\r\n");
  REQUIRE(wait_until([&] { return streaming.load(); }));
  ts.server().stop();
  CHECK(wait_until([&] { return ts.ran_out(); }));
  CHECK(idle.closed_by_peer());
}

TEST_CASE("an async handler that waits does not hold up other connections, and sees the peer") {
  // The slow route parks until the test releases it; meanwhile a plain route on another connection
  // must answer (the io_context has one thread, so a blocking handler would deadlock this test).
  auto release = std::make_shared<std::atomic<bool>>(false);
  Router router = basic_router();
  router.add_async("/slow",
                   [release](const Request& r, const nodepack::http::RequestInfo& info) -> net::awaitable<Reply> {
                     net::steady_timer timer(co_await net::this_coro::executor);
                     while (!release->load()) {
                       timer.expires_after(1ms);
                       co_await timer.async_wait(net::use_awaitable);
                     }
                     co_return text(r, "slow from " + info.remote.address().to_string());
                   });
  router.add_async_prefix("/async/", [](const Request& r, const nodepack::http::RequestInfo&) -> net::awaitable<Reply> {
    co_return text(r, "async:" + std::string(nodepack::http::target_path(r)));
  });
  TestServer ts(std::move(router));
  Client slow(ts.port());
  slow.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n");
  Client other(ts.port());
  CHECK(other.get("/hello").body() == "hello");
  CHECK(other.get("/async/x").body() == "async:/async/x");
  release->store(true);
  CHECK(slow.read().body() == "slow from 127.0.0.1");
  // The synchronous router refuses an async route rather than blocking.
  Router sync_only;
  sync_only.add_async("/a", [](const Request& r, const nodepack::http::RequestInfo&) -> net::awaitable<Reply> {
    co_return text(r, "never");
  });
  Request probe{bhttp::verb::get, "/a", 11};
  CHECK(sync_only.route(probe).response.result() == bhttp::status::internal_server_error);
}
