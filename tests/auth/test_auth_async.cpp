// Password checks off the serving thread: the hashing pool's bounded queue, authenticate_async and
// login_async leaving their io_context free while the hash runs, a full queue answered 503 with
// Retry-After at once, and the handoff that lets a synchronous authenticate take a result decided
// asynchronously.

#include "aggregator/auth/authenticator.hpp"
#include "aggregator/auth/handoff.hpp"
#include "aggregator/auth/hash_pool.hpp"
#include "aggregator/auth/secrets.hpp"
#include "tests/support/temp_dir.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <optional>
#include <thread>

using namespace nodepack::auth;
using namespace std::chrono_literals;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using nodepack::ManualClock;
using nodepack::http::Request;
using nodepack::http::RequestInfo;
using nodepack::http::Response;
using nodepack::testing::TempDir;

namespace {

RequestInfo from(const char* address) {
  return RequestInfo{net::ip::tcp::endpoint(net::ip::make_address(address), 40000)};
}

Request with_headers(std::string user, std::string password) {
  Request request{bhttp::verb::post, "/api/cpu/usage_rate", 11};
  request.set("X-USERNAME", user);
  request.set("X-PASSWORD", password);
  return request;
}

struct Fixture {
  explicit Fixture(HashPoolOptions hashing = {}) {
    options.users_file = dir.write("users", "alice:" + hash_password("alice-pw", "$6$").value() + "\n");
    options.clock = clock;
    options.hashing = hashing;
    auth = Authenticator::create(options).value();
  }
  TempDir dir;
  ManualClock clock;
  AuthOptions options;
  std::unique_ptr<Authenticator> auth;
};

}  // namespace

TEST_CASE("the hashing pool runs jobs off the caller's thread and refuses at once when full") {
  HashPool pool({1, 1});
  CHECK(pool.capacity() == 2);
  std::promise<void> release;
  auto released = release.get_future().share();
  std::atomic<bool> let_go{false};
  const auto unblock = [&] {
    if (!let_go.exchange(true)) {
      release.set_value();
    }
  };
  net::io_context io;
  const auto caller = std::this_thread::get_id();
  std::vector<std::string> events;
  // The first job holds the only thread until released; the second waits in the queue; the third
  // finds no room.
  net::co_spawn(
      io,
      [&]() -> net::awaitable<void> {
        auto held = [released] {
          released.wait();
          return std::this_thread::get_id();
        };
        auto on = co_await pool.run(std::move(held));
        events.push_back(on && *on != caller ? "first ran on a worker" : "first?");
      },
      net::detached);
  net::co_spawn(
      io,
      [&]() -> net::awaitable<void> {
        auto value = co_await pool.run([] { return 2; });
        events.push_back(value == 2 ? "second ran" : "second?");
      },
      net::detached);
  net::co_spawn(
      io,
      [&]() -> net::awaitable<void> {
        auto value = co_await pool.run([] { return 3; });
        events.push_back(value ? "third ran" : "third refused");
        // Refused without waiting for the first job: it is still held.
        CHECK(pool.in_use() == 2);
        unblock();
      },
      net::detached);
  // A refusal comes at once. Only a pool that queued the third job behind the held first one
  // would leave this waiting: bounded, so that such a pool fails here instead of hanging.
  io.run_for(10s);
  unblock();
  io.run();
  CHECK(events == std::vector<std::string>{"third refused", "first ran on a worker", "second ran"});
  CHECK(pool.in_use() == 0);
}

TEST_CASE("the hashing pool's workers run 10 nice levels below the process, so probes are served first") {
  HashPool pool({2, 0});
  net::io_context io;
  std::optional<int> worker_nice;
  net::co_spawn(
      io,
      [&]() -> net::awaitable<void> {
        auto job = [] { return ::getpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid))); };
        worker_nice = co_await pool.run(std::move(job));
      },
      net::detached);
  io.run();
  const int process_nice = ::getpriority(PRIO_PROCESS, 0);
  REQUIRE(worker_nice.has_value());
  CHECK(*worker_nice == std::min(process_nice + 10, 19));
  CHECK(::getpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid))) == process_nice);  // caller's unchanged
}

TEST_CASE("authenticate_async and login_async leave their thread free while the password hashes") {
  Fixture f;
  // Without the verified-password cache, so that the login hashes too.
  f.options.verified_cache_lifetime = 0s;
  f.auth = Authenticator::create(f.options).value();
  net::io_context io;
  std::vector<std::string> events;
  const auto request = with_headers("alice", "alice-pw");
  const auto info = from("10.0.0.1");
  // Spawned in this order on one thread: a check that hashed inline would finish before the next
  // coroutine even started. Suspended on the pool instead, it lets the next one run first.
  net::co_spawn(
      io,
      [&]() -> net::awaitable<void> {
        auto who = co_await f.auth->authenticate_async(request, info);
        events.push_back(std::holds_alternative<Principal>(who) ? "api: alice" : "api: refused");
      },
      net::detached);
  net::co_spawn(
      io,
      [&]() -> net::awaitable<void> {
        events.push_back("other request");
        co_return;
      },
      net::detached);
  io.run();
  CHECK(events == std::vector<std::string>{"other request", "api: alice"});
  CHECK(f.auth->stats().password_hashes.load() == 1);

  events.clear();
  io.restart();
  std::optional<LoginResult> login;
  net::co_spawn(
      io,
      [&]() -> net::awaitable<void> {
        login = co_await f.auth->login_async("alice", "alice-pw", info);
        events.push_back("login");
      },
      net::detached);
  net::co_spawn(
      io,
      [&]() -> net::awaitable<void> {
        events.push_back("other request");
        co_return;
      },
      net::detached);
  io.run();
  CHECK(events == std::vector<std::string>{"other request", "login"});
  REQUIRE(login.has_value());
  REQUIRE(login->has_value());
  // The session works, and is checked without a hash.
  Request page{bhttp::verb::get, "/web/accounting", 11};
  page.set(bhttp::field::cookie, "nodepack_session=" + login->value());
  CHECK(std::get<Principal>(f.auth->authenticate(page, info)).user == "alice");
  CHECK(f.auth->stats().password_hashes.load() == 2);
}

TEST_CASE("a full hashing queue answers 503 with Retry-After at once, counting no failure") {
  // One thread, no queue, a bcrypt-12 user (~230 ms a check): the second and third logins arrive
  // while the first is hashing.
  TempDir dir;
  ManualClock clock;
  AuthOptions options;
  options.users_file = dir.write("users", "bob:" + hash_password("bob-pw", "$2b$", 12).value() + "\n");
  options.clock = clock;
  options.hashing = {1, 0};
  auto auth = Authenticator::create(options).value();

  net::io_context io;
  std::vector<std::string> events;
  const auto info = from("10.0.0.2");
  std::optional<LoginResult> first;
  std::optional<std::variant<Principal, Response>> api;
  std::optional<LoginResult> third;
  net::co_spawn(
      io,
      [&]() -> net::awaitable<void> {
        first = co_await auth->login_async("bob", "bob-pw", info);
        events.push_back("first");
      },
      net::detached);
  const auto request = with_headers("bob", "wrong");
  net::co_spawn(
      io,
      [&]() -> net::awaitable<void> {
        api = co_await auth->authenticate_async(request, info);
        events.push_back("api");
      },
      net::detached);
  net::co_spawn(
      io,
      [&]() -> net::awaitable<void> {
        third = co_await auth->login_async("nobody", "x", info);
        events.push_back("third");
      },
      net::detached);
  io.run();
  // The refusals came before the first check finished: nobody waited for a hash they did not get.
  CHECK(events == std::vector<std::string>{"api", "third", "first"});
  REQUIRE(first.has_value());
  CHECK(first->has_value());

  REQUIRE(api.has_value());
  REQUIRE(std::holds_alternative<Response>(*api));
  const auto& busy = std::get<Response>(*api);
  CHECK(busy.result() == bhttp::status::service_unavailable);
  CHECK(busy[bhttp::field::retry_after] == "1");
  CHECK(busy.body() == R"({"error":"busy","reason":"too many passwords are being checked at once; retry in 1 s"})");

  REQUIRE(third.has_value());
  REQUIRE_FALSE(third->has_value());
  CHECK(third->error().busy);
  CHECK(third->error().retry_after == 1s);
  CHECK(third->error().message == "the server is checking too many passwords at once; try again in 1 s");

  CHECK(auth->stats().busy.load() == 2);
  CHECK(auth->stats().password_hashes.load() == 1);
  CHECK(auth->stats().failures.load() == 0);  // nothing was checked, so nothing failed
  CHECK(auth->stats().successes.load() == 1);
}

TEST_CASE("the handoff gives a wrapped handler the asynchronous result and keeps nothing") {
  Fixture f;
  AuthHandoff handoff(*f.auth);
  std::vector<std::string> seen;
  auto handler =
      handoff.wrap([&](const Request& request, const RequestInfo& info) -> net::awaitable<nodepack::http::Reply> {
        // What the usage API does: a synchronous check at the start of the handler.
        auto who = handoff.authenticate(request, info);
        seen.push_back(std::holds_alternative<Principal>(who) ? std::get<Principal>(who).user
                                                              : std::to_string(std::get<Response>(who).result_int()));
        co_return nodepack::http::Reply{nodepack::http::make_response(request, bhttp::status::ok, "ok"), {}};
      });
  net::io_context io;
  const auto right = with_headers("alice", "alice-pw");
  const auto wrong = with_headers("alice", "nope");
  const auto info = from("10.0.0.3");
  for (const auto* request : {&right, &wrong}) {
    net::co_spawn(
        io, [&, request]() -> net::awaitable<void> { co_await handler(*request, info); }, net::detached);
  }
  io.run();
  // The two checks run on two threads: either may finish first.
  std::sort(seen.begin(), seen.end());
  CHECK(seen == std::vector<std::string>{"401", "alice"});
  // Each password was hashed once, on the pool; the handler's own check hashed nothing.
  CHECK(f.auth->stats().password_hashes.load() == 2);
  CHECK(f.auth->stats().failures.load() == 1);
  CHECK(handoff.parked() == 0);

  // Outside a wrapped route the synchronous check still works (and hashes on the caller's thread).
  CHECK(std::get<Principal>(handoff.authenticate(right, info)).user == "alice");
}
