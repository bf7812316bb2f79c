// The server under connection pressure, over real sockets: idle keep-alive connections and slow
// senders filling the cap, one peer taking many slots, sockets near the descriptor limit. Probes
// and scrapes must still be answered. Many peers are played from 127.0.0.2 and up (Linux loopback
// answers the whole 127.0.0.0/8).

#include "http/server.hpp"
#include "tests/http/plain_server.hpp"

#include <boost/beast/http.hpp>
#include <catch2/catch.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace bhttp = boost::beast::http;
using namespace std::chrono_literals;
using nodepack::http::Request;
using nodepack::http::Router;
using nodepack::http::ServerLimits;
using nodepack::testing::Client;
using nodepack::testing::TestServer;
using nodepack::testing::text;
using nodepack::testing::wait_until;

namespace {

Router probe_router() {
  Router router;
  router.add("/healthz", [](const Request& r) { return text(r, "ok"); });
  router.add("/hello", [](const Request& r) { return text(r, "hello"); });
  return router;
}

// Peer number i of a crowd, `per_peer` connections per address, from 127.0.0.2 up.
std::string crowd_address(std::size_t i, std::size_t per_peer) { return "127.0.0." + std::to_string(2 + i / per_peer); }

}  // namespace

TEST_CASE("idle keep-alive connections filling the cap do not keep out a probe or a scrape") {
  const ServerLimits defaults;  // the agent's
  TestServer ts(probe_router(), defaults);
  // As in the incident: every slot holds a connection that asked once and stays open. Four peers
  // of max_connections_per_client each, so the per-client limit is not what protects the probe.
  std::vector<std::unique_ptr<Client>> held;
  for (std::size_t i = 0; i < defaults.max_connections; ++i) {
    held.push_back(std::make_unique<Client>(ts.port(), crowd_address(i, defaults.max_connections_per_client)));
    REQUIRE(held.back()->get("/healthz").body() == "ok");
  }
  Client probe(ts.port());
  const auto answered = probe.get("/healthz");
  CHECK(answered.result() == bhttp::status::ok);
  CHECK(answered.body() == "ok");
  Client scrape(ts.port());
  CHECK(scrape.get("/hello").body() == "hello");
  // The two oldest idle connections made room; the others still work.
  CHECK(held[0]->closed_by_peer());
  CHECK(held[1]->closed_by_peer());
  CHECK(held[2]->get("/hello").body() == "hello");
  CHECK(ts.stats().idle_evictions.load() == 2);
  CHECK(ts.stats().connections_rejected.load() == 0);
  CHECK(ts.stats().connections_active.load() == defaults.max_connections);
}

TEST_CASE("slow senders filling the cap do not keep out a probe") {
  ServerLimits limits;          // the agent's, but with a header deadline no slow sender reaches during the
  limits.header_timeout = 60s;  // test: the probe must get in while every one of them is held
  TestServer ts(probe_router(), limits);
  // A slowloris of 140 sockets from five peers (within the per-client limit each): a byte of a
  // request line each, then another.
  constexpr std::size_t sockets = 140;
  constexpr std::size_t per_peer = 28;
  std::vector<std::unique_ptr<Client>> slow;
  for (std::size_t i = 0; i < sockets; ++i) {
    slow.push_back(std::make_unique<Client>(ts.port(), crowd_address(i, per_peer)));
    REQUIRE(slow.back()->try_send("G"));
  }
  // Every regular slot is taken by a request in progress (none idle, so none may be closed); the
  // rest wait in the health slots.
  REQUIRE(wait_until([&] {
    return ts.stats().connections_active.load() == limits.max_connections && ts.stats().connections_idle.load() == 0 &&
           ts.stats().connections_rejected.load() == sockets - limits.max_connections;
  }));
  for (auto& c : slow) {
    c->try_send("E");  // the server may have closed the oldest over-cap ones already
  }

  const auto started = std::chrono::steady_clock::now();
  Client probe(ts.port());
  const auto answered = probe.get("/healthz");
  CHECK(answered.result() == bhttp::status::ok);
  CHECK(answered.body() == "ok");
  // A local answer takes milliseconds; 2 s is a generous bound, and far below the 60 s after which
  // a slow sender's slot would free up on its own.
  CHECK(std::chrono::steady_clock::now() - started < 2s);
  // The cap really is full: anything but a health path is refused.
  Client scrape(ts.port());
  CHECK(scrape.get("/hello").result() == bhttp::status::service_unavailable);
  CHECK(ts.stats().idle_evictions.load() == 0);
  CHECK(ts.stats().health_requests.load() == 1);
  CHECK(ts.stats().connections_active.load() == limits.max_connections);
}

TEST_CASE("one peer cannot take more than its share of connections") {
  ServerLimits limits;
  limits.max_connections_per_client = 2;
  TestServer ts(probe_router(), limits);
  Client a1(ts.port(), "127.0.0.2");
  Client a2(ts.port(), "127.0.0.2");
  a1.send("GET /hello HTTP/1.1\r\n");
  a2.send("GET /hello HTTP/1.1\r\n");
  REQUIRE(
      wait_until([&] { return ts.stats().connections_active.load() == 2 && ts.stats().connections_idle.load() == 0; }));
  // The server has room for 126 more, but not from this peer: no regular slot, and only health
  // paths are answered.
  Client a3(ts.port(), "127.0.0.2");
  CHECK(a3.get("/hello").result() == bhttp::status::service_unavailable);
  CHECK(ts.stats().per_client_rejections.load() == 1);
  Client a4(ts.port(), "127.0.0.2");
  CHECK(a4.get("/healthz").body() == "ok");
  // Another peer is served as usual.
  Client b(ts.port(), "127.0.0.3");
  CHECK(b.get("/hello").body() == "hello");

  // At its limit with an idle connection, the peer gives up its own (b's is older, and stays).
  a1.send("Host: t\r\n\r\n");
  REQUIRE(a1.read().body() == "hello");
  REQUIRE(wait_until([&] { return ts.stats().connections_idle.load() == 2; }));  // a1 and b
  Client a5(ts.port(), "127.0.0.2");
  CHECK(a5.get("/hello").body() == "hello");
  CHECK(a1.closed_by_peer());
  CHECK(b.get("/hello").body() == "hello");
  CHECK(ts.stats().idle_evictions.load() == 1);
  CHECK(ts.stats().per_client_rejections.load() == 2);
}

TEST_CASE("a full server closes its oldest idle connection for a newcomer, never a busy one") {
  ServerLimits limits;
  limits.max_connections = 3;
  TestServer ts(probe_router(), limits);
  Client a(ts.port());
  Client b(ts.port());
  Client c(ts.port());
  for (Client* client : {&a, &b, &c}) {
    REQUIRE(client->get("/hello").body() == "hello");
  }
  REQUIRE(wait_until([&] { return ts.stats().connections_idle.load() == 3; }));
  Client d(ts.port());
  CHECK(d.get("/hello").body() == "hello");
  CHECK(a.closed_by_peer());

  // b starts a request: the oldest idle connection is now c. (Once all three are idle, the only
  // way for the count to drop is b's request.)
  REQUIRE(wait_until([&] { return ts.stats().connections_idle.load() == 3; }));  // b, c and d
  b.send("GET /hello HTTP/1.1\r\n");
  REQUIRE(wait_until([&] { return ts.stats().connections_idle.load() == 2; }));  // c and d
  Client e(ts.port());
  CHECK(e.get("/hello").body() == "hello");
  CHECK(c.closed_by_peer());
  b.send("Host: t\r\n\r\n");
  CHECK(b.read().body() == "hello");
  CHECK(d.get("/hello").body() == "hello");
  CHECK(ts.stats().idle_evictions.load() == 2);
  CHECK(ts.stats().connections_rejected.load() == 0);
}

TEST_CASE("without a slot left, a socket is closed at accept without a byte") {
  ServerLimits limits;
  limits.max_connections = 1;
  limits.health_connections = 0;
  TestServer ts(probe_router(), limits);
  Client busy(ts.port());
  busy.send("GET /hello HTTP/1.1\r\n");
  REQUIRE(
      wait_until([&] { return ts.stats().connections_active.load() == 1 && ts.stats().connections_idle.load() == 0; }));
  Client over(ts.port());
  CHECK(over.closed_by_peer());  // EOF, not a 503
  CHECK(ts.stats().sockets_refused.load() == 1);
  busy.send("Host: t\r\n\r\n");
  CHECK(busy.read().body() == "hello");
}

TEST_CASE("a request header has its own deadline, shorter than the body's and the keep-alive wait") {
  ServerLimits limits;
  limits.header_timeout = 300ms;
  limits.body_timeout = 5s;
  TestServer ts(probe_router(), limits);

  // A header trickling in is cut off at the header deadline, though bytes keep coming. 3 s is a
  // generous bound on a 300 ms deadline, and short of the 5 s a whole-request deadline would give.
  Client slow(ts.port());
  slow.send("GET /hello HTTP/1.1\r\n");
  const auto started = std::chrono::steady_clock::now();
  bool cut = false;
  while (!cut && std::chrono::steady_clock::now() - started < 3s) {
    slow.try_send("X");
    std::this_thread::sleep_for(50ms);
    cut = slow.closed_now();
  }
  CHECK(cut);
  CHECK(wait_until([&] { return ts.stats().bad_requests.load() == 1; }));

  // A body arriving slowly, past the header deadline but within the body's, is read in full.
  Client upload(ts.port());
  upload.send("POST /hello HTTP/1.1\r\nHost: t\r\nContent-Length: 6\r\n\r\n");
  for (const char* piece : {"a", "b", "c", "d", "e", "f"}) {
    std::this_thread::sleep_for(100ms);
    upload.send(piece);
  }
  CHECK(upload.read().body() == "hello");
  // Waiting longer than the header deadline between keep-alive requests is idle time, not header time.
  std::this_thread::sleep_for(600ms);
  CHECK(upload.get("/hello").body() == "hello");
  CHECK(ts.stats().bad_requests.load() == 1);
}

TEST_CASE("near the descriptor limit, new sockets are closed and accepting pauses") {
  ServerLimits limits;
  limits.fd_headroom = 40;
  TestServer ts(probe_router(), limits);
  rlimit saved{};
  REQUIRE(getrlimit(RLIMIT_NOFILE, &saved) == 0);
  // Whatever happens below, the process gets its limit back.
  struct Restore {
    rlimit limit;
    ~Restore() { setrlimit(RLIMIT_NOFILE, &limit); }
  } restore{saved};
  // New descriptors take the lowest free number (ours and the server's alike, one process). 100
  // above it: the server must stop taking sockets 40 short of that, after some 30 connections (each
  // costs a descriptor here for the client and one for the server).
  const int lowest_free = ::dup(0);
  REQUIRE(lowest_free >= 0);
  ::close(lowest_free);
  rlimit low = saved;
  low.rlim_cur = static_cast<rlim_t>(lowest_free) + 100;
  REQUIRE(setrlimit(RLIMIT_NOFILE, &low) == 0);
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 45; ++i) {
    clients.push_back(std::make_unique<Client>(ts.port(), crowd_address(static_cast<std::size_t>(i), 20)));
  }
  REQUIRE(wait_until([&] { return ts.stats().sockets_refused.load() > 0; }));
  CHECK(ts.stats().accept_pauses.load() > 0);
  CHECK(ts.stats().connections_active.load() <= 32);
  // With descriptors back, the server accepts again after its pause.
  clients.clear();
  REQUIRE(setrlimit(RLIMIT_NOFILE, &saved) == 0);
  Client probe(ts.port());
  CHECK(probe.get("/healthz").body() == "ok");
}
