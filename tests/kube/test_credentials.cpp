#include "common/rfc3339.hpp"
#include "kube/credentials.hpp"
#include "tests/support/temp_dir.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include <filesystem>
#include <optional>

using namespace nodepack::kube;
using nodepack::ManualClock;
using nodepack::Result;
using nodepack::testing::TempDir;

namespace {

// An exec plugin as a shell script: counts its runs in a file and prints an ExecCredential whose
// token carries the run number, so the test sees when it was re-run.
std::filesystem::path write_plugin(const TempDir& dir, const std::string& expiry) {
  const auto script =
      dir.write("plugin.sh",
                "#!/bin/sh\n"
                "n=$(cat \"$COUNT_FILE\" 2>/dev/null || echo 0); n=$((n+1)); echo $n > \"$COUNT_FILE\"\n"
                "case \"$KUBERNETES_EXEC_INFO\" in *ExecCredential*) ;; *) exit 3;; esac\n"
                "echo '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
                "\"status\":{\"token\":\"tok-'$n-$1'\"" +
                    (expiry.empty() ? std::string() : ",\"expirationTimestamp\":\"" + expiry + "\"") + "}}'\n");
  std::filesystem::permissions(script, std::filesystem::perms::owner_all);
  return script;
}

// An exec plugin's token is awaited; this waits on an io_context of its own.
Result<std::string> authorize(CredentialProvider& creds) {
  boost::asio::io_context io;
  std::optional<Result<std::string>> out;
  boost::asio::co_spawn(
      io, [&]() -> boost::asio::awaitable<void> { out = co_await creds.async_authorization(); }, boost::asio::detached);
  io.run();
  REQUIRE(out.has_value());
  return *out;
}

ClusterConfig exec_config(const TempDir& dir, const std::filesystem::path& script) {
  ClusterConfig config;
  ExecConfig exec;
  exec.api_version = "client.authentication.k8s.io/v1beta1";
  exec.command = script.string();
  exec.args = {"arg"};
  exec.env = {{"COUNT_FILE", (dir.path() / "count").string()}};
  config.exec = exec;
  return config;
}

}  // namespace

TEST_CASE("exec plugin token is cached until expiry, then fetched again") {
  TempDir dir;
  ManualClock clock(*nodepack::parse_rfc3339("2026-11-25T00:00:00Z"));
  CredentialProvider creds(exec_config(dir, write_plugin(dir, "2026-11-25T01:00:00Z")), clock);
  CHECK(*authorize(creds) == "Bearer tok-1-arg");
  CHECK(*authorize(creds) == "Bearer tok-1-arg");
  CHECK(creds.exec_runs() == 1);
  clock.advance(std::chrono::minutes(59) + std::chrono::seconds(55));  // inside the refresh margin
  CHECK(*authorize(creds) == "Bearer tok-2-arg");
  CHECK(creds.exec_runs() == 2);
}

TEST_CASE("exec plugin is re-run after a 401 invalidates the cached token") {
  TempDir dir;
  ManualClock clock;
  CredentialProvider creds(exec_config(dir, write_plugin(dir, "")), clock);
  CHECK(*authorize(creds) == "Bearer tok-1-arg");
  clock.advance(std::chrono::hours(100));  // no expiry: still cached
  CHECK(*authorize(creds) == "Bearer tok-1-arg");
  creds.invalidate();
  CHECK(*authorize(creds) == "Bearer tok-2-arg");
}

TEST_CASE("exec plugin failures are errors with the reason") {
  TempDir dir;
  ManualClock clock;
  auto failing = dir.write("fail.sh", "#!/bin/sh\nexit 7\n");
  std::filesystem::permissions(failing, std::filesystem::perms::owner_all);
  ClusterConfig config;
  config.exec = ExecConfig{"client.authentication.k8s.io/v1", failing.string(), {}, {}, dir.path()};
  CredentialProvider creds(config, clock);
  auto r = authorize(creds);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().message == "exec plugin " + failing.string() + ": exited with status 7");

  auto garbage = dir.write("garbage.sh", "#!/bin/sh\necho not-json\n");
  std::filesystem::permissions(garbage, std::filesystem::perms::owner_all);
  config.exec->command = garbage.string();
  CredentialProvider creds2(config, clock);
  auto g = authorize(creds2);
  REQUIRE_FALSE(g.has_value());
  CHECK(g.error().message.find("not a JSON ExecCredential") != std::string::npos);
}

// [not-emulated]: qemu-user runs posix_spawn's vfork as a fork, so an exec that fails is seen as
// a child exiting with 127, never as the spawn error a kernel reports.
TEST_CASE("an exec plugin that cannot be started is an error saying so", "[not-emulated]") {
  TempDir dir;
  ManualClock clock;
  ClusterConfig config;
  config.exec = ExecConfig{"client.authentication.k8s.io/v1", (dir.path() / "absent").string(), {}, {}, dir.path()};
  CredentialProvider creds(config, clock);
  auto a = authorize(creds);
  REQUIRE_FALSE(a.has_value());
  CHECK(a.error().message.find("cannot start") != std::string::npos);
}

TEST_CASE("token file is re-read when it changes, as rotated service account tokens are") {
  TempDir dir;
  ManualClock clock;
  const auto token = dir.write("token", "first\n");
  ClusterConfig config;
  config.token_file = token;
  CredentialProvider creds(config, clock);
  CHECK(*creds.authorization() == "Bearer first");
  CHECK(*authorize(creds) == "Bearer first");
  // The kubelet rotates the projected token by replacing the file; give it a new mtime.
  dir.write("token.new", "second");
  std::filesystem::last_write_time(dir.path() / "token.new",
                                   std::filesystem::last_write_time(token) + std::chrono::seconds(5));
  std::filesystem::rename(dir.path() / "token.new", token);
  CHECK(*creds.authorization() == "Bearer second");
}

TEST_CASE("static token and no auth") {
  ManualClock clock;
  ClusterConfig with_token;
  with_token.token = "t0k";
  CHECK(*CredentialProvider(with_token, clock).authorization() == "Bearer t0k");
  CHECK(CredentialProvider(ClusterConfig{}, clock).authorization()->empty());
}

TEST_CASE("an exec plugin's token is only handed out to callers that await it") {
  TempDir dir;
  ManualClock clock;
  CredentialProvider creds(exec_config(dir, write_plugin(dir, "")), clock);
  auto blocking = creds.authorization();
  REQUIRE_FALSE(blocking.has_value());
  CHECK(blocking.error().message == "an exec credential plugin's token must be awaited (async_authorization)");
  CHECK(creds.exec_runs() == 0);
  CHECK(*authorize(creds) == "Bearer tok-1-arg");
}
