// Exec credential plugins run off the io thread and within a timeout: a plugin that closes its
// stdout and hangs is killed with its process group and named in the error, while other work on
// the same io_context goes on; concurrent requests share one run; shutting down kills a plugin that
// is still running.

#include "kube/credentials.hpp"
#include "tests/support/temp_dir.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <catch2/catch.hpp>

#include <sys/types.h>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>

namespace net = boost::asio;
using namespace std::chrono_literals;
using nodepack::ManualClock;
using nodepack::Result;
using nodepack::kube::ClusterConfig;
using nodepack::kube::CredentialProvider;
using nodepack::kube::ExecConfig;
using nodepack::testing::TempDir;
using steady = std::chrono::steady_clock;

namespace {

const std::string credential_json =
    R"({"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"tok-'$n'"}})";

// Closes its stdout, then waits on a child in its process group that records its pid.
const std::string hanging_plugin =
    "#!/bin/sh\n"
    "exec >&-\n"
    "sleep 60 &\n"
    "echo $! > \"$DIR/sleep.pid\"\n"
    "wait\n";

// Answers only once the test has created $DIR/go, counting its runs in $DIR/count.
const std::string waiting_plugin =
    "#!/bin/sh\n"
    "n=$(cat \"$DIR/count\" 2>/dev/null || echo 0); n=$((n+1)); echo $n > \"$DIR/count\"\n"
    "while [ ! -e \"$DIR/go\" ]; do sleep 0.02; done\n"
    "echo '" +
    credential_json + "'\n";

ClusterConfig plugin_config(const TempDir& dir, const std::string& script) {
  const auto path = dir.write("plugin.sh", script);
  std::filesystem::permissions(path, std::filesystem::perms::owner_all);
  ClusterConfig config;
  config.exec =
      ExecConfig{"client.authentication.k8s.io/v1", path.string(), {}, {{"DIR", dir.path().string()}}, dir.path()};
  return config;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::string text;
  std::getline(in, text);
  return text;
}

// Gone, or dead and waiting for its reaper (the plugin's children are reparented when it dies).
bool process_gone(const std::string& pid) {
  std::ifstream stat("/proc/" + pid + "/stat");
  std::string line;
  if (!std::getline(stat, line)) {
    return true;
  }
  const auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z';
}

// Polls for up to `limit`: the kill is asynchronous to the test, the reaping even more so.
bool becomes_gone(const std::string& pid, std::chrono::milliseconds limit) {
  const auto deadline = steady::now() + limit;
  while (!process_gone(pid)) {
    if (steady::now() > deadline) {
      return false;
    }
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

// Runs `io` until `done` or `limit`, so a broken build fails the test instead of hanging it.
template <class Done>
void run_until(net::io_context& io, Done done, std::chrono::milliseconds limit) {
  const auto deadline = steady::now() + limit;
  while (!done() && steady::now() < deadline) {
    io.run_for(10ms);
  }
}

}  // namespace

TEST_CASE("a plugin that closes stdout and hangs is killed with its process group at the timeout") {
  TempDir dir;
  ManualClock clock;
  CredentialProvider creds(plugin_config(dir, hanging_plugin), clock, 500ms);
  net::io_context io;
  std::optional<Result<std::string>> out;
  int ticks_while_waiting = 0;
  const auto started = steady::now();
  auto answered_at = started;
  net::co_spawn(
      io,
      [&]() -> net::awaitable<void> {
        out = co_await creds.async_authorization();
        answered_at = steady::now();
      },
      net::detached);
  // Stands for /healthz: other work on the io thread while the plugin runs.
  net::co_spawn(
      io,
      [&]() -> net::awaitable<void> {
        net::steady_timer timer(io);
        while (!out) {
          timer.expires_after(10ms);
          co_await timer.async_wait(net::use_awaitable);
          ticks_while_waiting += out ? 0 : 1;
        }
      },
      net::detached);
  run_until(
      io, [&] { return out.has_value(); }, 30s);
  REQUIRE(out.has_value());
  REQUIRE_FALSE(out->has_value());
  CHECK(out->error().message ==
        "exec plugin " + (dir.path() / "plugin.sh").string() + ": timed out after 500ms; killed its process group");
  // An upper bound only, and a generous one: the plugin would run for 60 s if nothing killed it.
  CHECK(answered_at - started < 10s);
  // The ticker runs every 10 ms; the plugin takes 500 ms to time out. One tick before the answer is
  // enough to show the io thread was not blocked.
  CHECK(ticks_while_waiting >= 1);
  // Its child, in the same process group, went with it.
  const auto sleeper = read_file(dir.path() / "sleep.pid");
  REQUIRE_FALSE(sleeper.empty());
  CHECK(becomes_gone(sleeper, 5s));
}

TEST_CASE("while a plugin runs, the io thread serves other coroutines, and the plugin's token arrives") {
  TempDir dir;
  ManualClock clock;
  // The plugin answers only after a coroutine on the same io_context creates the go file: with the
  // io thread blocked on the plugin that would never happen, and the run would time out.
  CredentialProvider creds(plugin_config(dir, waiting_plugin), clock, 20s);
  net::io_context io;
  std::optional<Result<std::string>> out;
  net::co_spawn(
      io, [&]() -> net::awaitable<void> { out = co_await creds.async_authorization(); }, net::detached);
  net::co_spawn(
      io,
      [&]() -> net::awaitable<void> {
        net::steady_timer timer(io, 50ms);
        co_await timer.async_wait(net::use_awaitable);
        dir.write("go", "");
      },
      net::detached);
  run_until(
      io, [&] { return out.has_value(); }, 30s);
  REQUIRE(out.has_value());
  REQUIRE(out->has_value());
  CHECK(**out == "Bearer tok-1");
  CHECK(creds.exec_runs() == 1);
}

TEST_CASE("concurrent requests needing a fresh credential share one plugin run") {
  TempDir dir;
  ManualClock clock;
  CredentialProvider creds(plugin_config(dir, waiting_plugin), clock, 20s);
  net::io_context io;
  std::vector<std::optional<Result<std::string>>> out(3);
  for (auto& slot : out) {
    net::co_spawn(
        io, [&]() -> net::awaitable<void> { slot = co_await creds.async_authorization(); }, net::detached);
  }
  // All three are waiting on the run by the time the go file appears (they start before the timer).
  net::co_spawn(
      io,
      [&]() -> net::awaitable<void> {
        net::steady_timer timer(io, 50ms);
        co_await timer.async_wait(net::use_awaitable);
        dir.write("go", "");
      },
      net::detached);
  run_until(
      io, [&] { return out[0] && out[1] && out[2]; }, 30s);
  for (const auto& slot : out) {
    REQUIRE(slot.has_value());
    REQUIRE(slot->has_value());
    CHECK(**slot == "Bearer tok-1");
  }
  CHECK(creds.exec_runs() == 1);
  CHECK(read_file(dir.path() / "count") == "1");
}

TEST_CASE("destroying the provider kills a plugin that is still running and answers its waiters") {
  TempDir dir;
  ManualClock clock;
  auto creds = std::make_unique<CredentialProvider>(plugin_config(dir, hanging_plugin), clock, 60s);
  net::io_context io;
  std::optional<Result<std::string>> out;
  net::co_spawn(
      io, [&]() -> net::awaitable<void> { out = co_await creds->async_authorization(); }, net::detached);
  run_until(
      io, [&] { return !read_file(dir.path() / "sleep.pid").empty(); }, 30s);
  const auto sleeper = read_file(dir.path() / "sleep.pid");
  REQUIRE_FALSE(sleeper.empty());
  const auto started = steady::now();
  creds.reset();
  // Generous upper bound: without the cancellation the destructor would wait out the 60 s timeout.
  CHECK(steady::now() - started < 10s);
  CHECK(becomes_gone(sleeper, 5s));
  run_until(
      io, [&] { return out.has_value(); }, 30s);
  REQUIRE(out.has_value());
  REQUIRE_FALSE(out->has_value());
  CHECK(out->error().message ==
        "exec plugin " + (dir.path() / "plugin.sh").string() + ": stopped: its client is shutting down");
}
