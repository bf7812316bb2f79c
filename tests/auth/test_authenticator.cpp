// The Authenticator with a ManualClock and files in a temp dir: right, wrong and missing
// credentials of every kind, rate limiting and its window, sessions and their expiry, logout,
// sessions bound to the password they were made with, namespace restriction, reloading (a bad file
// keeps the old table), and what an unknown user name costs.

#include "aggregator/auth/authenticator.hpp"
#include "aggregator/auth/secrets.hpp"
#include "tests/support/temp_dir.hpp"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

#include <time.h>

using namespace nodepack::auth;
using namespace std::chrono_literals;
namespace bhttp = boost::beast::http;
using nodepack::ManualClock;
using nodepack::http::Request;
using nodepack::http::RequestInfo;
using nodepack::http::Response;
using nodepack::testing::TempDir;

namespace {

RequestInfo from(const char* address) {
  return RequestInfo{boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address(address), 40000)};
}

Request request_with(std::vector<std::pair<std::string, std::string>> headers) {
  Request request{bhttp::verb::post, "/api/cpu/usage_rate", 11};
  for (auto& [name, value] : headers) {
    request.insert(name, value);
  }
  return request;
}

std::string base64(std::string_view in) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    out += {alphabet[v >> 18], alphabet[(v >> 12) & 63], alphabet[(v >> 6) & 63], alphabet[v & 63]};
  }
  if (in.size() - i == 1) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += {alphabet[v >> 18], alphabet[(v >> 12) & 63], '=', '='};
  } else if (in.size() - i == 2) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += {alphabet[v >> 18], alphabet[(v >> 12) & 63], alphabet[(v >> 6) & 63], '='};
  }
  return out;
}

Request basic(const std::string& user, const std::string& password) {
  return request_with({{"Authorization", "Basic " + base64(user + ":" + password)}});
}
Request headers(const std::string& user, const std::string& password) {
  return request_with({{"X-USERNAME", user}, {"X-PASSWORD", password}});
}
Request bearer(const std::string& token) { return request_with({{"Authorization", "Bearer " + token}}); }
Request cookie(const std::string& session) { return request_with({{"Cookie", "nodepack_session=" + session}}); }

// Users with one hash method each: alice sha512-crypt (fast, used for most checks), bob bcrypt and
// restricted to two namespaces, carol yescrypt.
struct Fixture {
  Fixture() {
    users = dir.write("users", users_text());
    tokens = dir.write("tokens", "# CI and a bot\nci:sha256:" + to_hex(sha256("tok-123")) +
                                     ":team-a\nbot:sha256:" + to_hex(sha256("tok-bot")) + "\n");
    options.users_file = users;
    options.tokens_file = tokens;
    options.clock = clock;
    auth = Authenticator::create(options).value();
  }
  // Rewrites a file with an mtime clearly after the previous one: two writes within one kernel
  // timestamp tick must not look like the same version.
  void rewrite(const std::string& name, const std::string& content) {
    const auto path = dir.write(name, content);
    std::filesystem::last_write_time(path,
                                     std::filesystem::file_time_type::clock::now() + std::chrono::seconds(++bumps));
  }
  std::string users_text(const std::string& extra = {}) const {
    return "# nodepack users\nalice:" + alice_hash + "\nbob:" + bob_hash + ":team-a,team-b\ncarol:" + carol_hash +
           "\n" + extra;
  }

  std::string alice_hash = hash_password("alice-pw", "$6$").value();
  std::string bob_hash = hash_password("bob-pw", "$2b$", 5).value();
  std::string carol_hash = hash_password("carol-pw", "$y$").value();
  TempDir dir;
  ManualClock clock;
  std::filesystem::path users;
  std::filesystem::path tokens;
  AuthOptions options;
  std::unique_ptr<Authenticator> auth;
  int bumps = 0;
};

Principal accepted(std::variant<Principal, Response> result) {
  REQUIRE(std::holds_alternative<Principal>(result));
  return std::get<Principal>(std::move(result));
}

Response refused(std::variant<Principal, Response> result) {
  REQUIRE(std::holds_alternative<Response>(result));
  return std::get<Response>(std::move(result));
}

std::string reason_of(const Response& response) {
  const auto body = boost::json::parse(response.body()).as_object();
  return std::string(body.at("reason").as_string());
}

std::vector<std::string> challenges(const Response& response) {
  std::vector<std::string> out;
  for (auto it = response.find(bhttp::field::www_authenticate);
       it != response.end() && it->name() == bhttp::field::www_authenticate; ++it) {
    out.emplace_back(it->value());
  }
  return out;
}

}  // namespace

TEST_CASE("the right credentials of every kind are accepted") {
  Fixture f;
  const auto info = from("10.0.0.1");
  auto alice = accepted(f.auth->authenticate(basic("alice", "alice-pw"), info));
  CHECK(alice.user == "alice");
  CHECK(alice.namespaces.empty());
  auto bob = accepted(f.auth->authenticate(headers("bob", "bob-pw"), info));
  CHECK(bob.user == "bob");
  CHECK(bob.namespaces == std::vector<std::string>{"team-a", "team-b"});
  CHECK(accepted(f.auth->authenticate(basic("carol", "carol-pw"), info)).user == "carol");
  auto ci = accepted(f.auth->authenticate(bearer("tok-123"), info));
  CHECK(ci.user == "ci");
  CHECK(ci.namespaces == std::vector<std::string>{"team-a"});
  CHECK(accepted(f.auth->authenticate(bearer("tok-bot"), info)).user == "bot");
  CHECK(f.auth->stats().successes.load() == 5);
  CHECK(f.auth->stats().failures.load() == 0);
  CHECK(f.auth->user_count() == 3);
  CHECK(f.auth->token_count() == 2);
}

TEST_CASE("wrong credentials get a 401 with both challenges and the same reason for unknown users") {
  Fixture f;
  const auto info = from("10.0.0.2");
  const auto wrong_password = refused(f.auth->authenticate(basic("alice", "alice-PW"), info));
  CHECK(wrong_password.result() == bhttp::status::unauthorized);
  CHECK(wrong_password[bhttp::field::content_type] == "application/json");
  CHECK(wrong_password.body() == R"({"error":"unauthorized","reason":"wrong user name or password"})");
  CHECK(challenges(wrong_password) ==
        std::vector<std::string>{R"(Basic realm="nodepack", charset="UTF-8")", R"(Bearer realm="nodepack")"});
  // An unknown user reads exactly like a wrong password.
  CHECK(refused(f.auth->authenticate(headers("mallory", "alice-pw"), info)).body() == wrong_password.body());
  CHECK(reason_of(refused(f.auth->authenticate(headers("bob", "alice-pw"), info))) == "wrong user name or password");
  CHECK(reason_of(refused(f.auth->authenticate(bearer("tok-1234"), info))) == "unknown or revoked bearer token");
  CHECK(f.auth->stats().failures.load() == 4);
  CHECK(f.auth->stats().successes.load() == 0);
}

TEST_CASE("an unknown user costs a password hash like a known one; a verified password is cached") {
  Fixture f;
  const auto info = from("10.0.0.12");
  refused(f.auth->authenticate(basic("mallory", "x"), info));
  CHECK(f.auth->stats().password_hashes.load() == 1);
  refused(f.auth->authenticate(headers("alice", "x"), info));
  CHECK(f.auth->stats().password_hashes.load() == 2);
  accepted(f.auth->authenticate(basic("alice", "alice-pw"), info));
  CHECK(f.auth->stats().password_hashes.load() == 3);
  // Verified in the last five minutes: accepted again without hashing, by any credential kind.
  accepted(f.auth->authenticate(headers("alice", "alice-pw"), info));
  CHECK(f.auth->stats().password_hashes.load() == 3);
  f.clock.advance(5min);
  accepted(f.auth->authenticate(basic("alice", "alice-pw"), info));
  CHECK(f.auth->stats().password_hashes.load() == 4);
  // A wrong password is never cached.
  refused(f.auth->authenticate(basic("alice", "alice-p"), info));
  refused(f.auth->authenticate(basic("alice", "alice-p"), info));
  CHECK(f.auth->stats().password_hashes.load() == 6);

  f.options.verified_cache_lifetime = 0s;
  auto uncached = Authenticator::create(f.options).value();
  accepted(uncached->authenticate(basic("alice", "alice-pw"), info));
  accepted(uncached->authenticate(basic("alice", "alice-pw"), info));
  CHECK(uncached->stats().password_hashes.load() == 2);
}

TEST_CASE("missing and malformed credentials get a 401 with a reason") {
  Fixture f;
  const auto info = from("10.0.0.3");
  const auto missing = refused(f.auth->authenticate(request_with({}), info));
  CHECK(missing.result() == bhttp::status::unauthorized);
  CHECK(reason_of(missing) ==
        "no credentials: send a session cookie, Authorization: Bearer or Basic, or X-USERNAME and X-PASSWORD");
  CHECK(challenges(missing).size() == 2);
  // A page fetching the API says so and gets no Basic challenge (no browser password dialog).
  const auto fetched = refused(f.auth->authenticate(request_with({{"X-Requested-With", "fetch"}}), info));
  CHECK(challenges(fetched) == std::vector<std::string>{R"(Bearer realm="nodepack")"});
  CHECK(f.auth->stats().missing.load() == 2);
  CHECK(f.auth->stats().failures.load() == 0);

  CHECK(reason_of(refused(f.auth->authenticate(request_with({{"Authorization", "Basic ***"}}), info))) ==
        "Authorization: Basic is not valid base64");
  CHECK(reason_of(refused(f.auth->authenticate(request_with({{"X-PASSWORD", "alice-pw"}}), info))) ==
        "X-USERNAME and X-PASSWORD must be sent together");
  CHECK(f.auth->stats().failures.load() == 2);
}

TEST_CASE("failed attempts are limited per address and per user, for the rest of the window") {
  Fixture f;
  const auto attacker = from("192.0.2.1");
  for (int i = 0; i < 5; ++i) {
    CHECK(refused(f.auth->authenticate(basic("alice", "guess" + std::to_string(i)), attacker)).result() ==
          bhttp::status::unauthorized);
  }
  // The sixth try is refused before any check, even with the right password.
  auto limited = refused(f.auth->authenticate(basic("alice", "alice-pw"), attacker));
  CHECK(limited.result() == bhttp::status::too_many_requests);
  CHECK(limited[bhttp::field::retry_after] == "60");
  CHECK(limited.body() ==
        R"({"error":"too many failed attempts","reason":"too many failed authentication attempts; retry in 60 s"})");
  // The address is blocked for every credential kind; the user name from every address.
  CHECK(refused(f.auth->authenticate(bearer("tok-123"), attacker)).result() == bhttp::status::too_many_requests);
  CHECK(refused(f.auth->authenticate(headers("alice", "alice-pw"), from("198.51.100.7"))).result() ==
        bhttp::status::too_many_requests);
  auto login = f.auth->login("alice", "alice-pw", from("198.51.100.7"));
  REQUIRE_FALSE(login.has_value());
  CHECK(login.error().message == "too many failed attempts; try again in 60 s");
  CHECK(login.error().retry_after == 60s);
  // Another user from another address is not affected.
  CHECK(accepted(f.auth->authenticate(basic("carol", "carol-pw"), from("198.51.100.7"))).user == "carol");
  CHECK(f.auth->stats().failures.load() == 5);
  CHECK(f.auth->stats().rate_limited.load() == 4);

  f.clock.advance(59s);
  auto still = refused(f.auth->authenticate(basic("alice", "alice-pw"), from("198.51.100.7")));
  CHECK(still[bhttp::field::retry_after] == "1");
  f.clock.advance(1s);
  CHECK(accepted(f.auth->authenticate(basic("alice", "alice-pw"), from("198.51.100.7"))).user == "alice");
  CHECK(accepted(f.auth->authenticate(bearer("tok-123"), attacker)).user == "ci");
}

TEST_CASE("an address guessing many user names or tokens is limited too; successes never are") {
  Fixture f;
  const auto scanner = from("2001:db8::1");
  for (const char* user : {"root", "admin", "test", "guest", "oracle"}) {
    refused(f.auth->authenticate(headers(user, "password"), scanner));
  }
  CHECK(refused(f.auth->authenticate(headers("nobody-yet", "x"), scanner)).result() ==
        bhttp::status::too_many_requests);

  const auto guesser = from("10.9.9.9");
  for (int i = 0; i < 5; ++i) {
    refused(f.auth->authenticate(bearer("tok-" + std::to_string(i)), guesser));
  }
  CHECK(refused(f.auth->authenticate(bearer("tok-123"), guesser)).result() == bhttp::status::too_many_requests);

  const auto busy = from("10.1.1.1");
  for (int i = 0; i < 50; ++i) {
    accepted(f.auth->authenticate(bearer("tok-bot"), busy));
    accepted(f.auth->authenticate(basic("alice", "alice-pw"), busy));
  }
  // Four failures after fifty successes: still under the limit.
  for (int i = 0; i < 4; ++i) {
    refused(f.auth->authenticate(basic("bob", "nope"), busy));
  }
  CHECK(accepted(f.auth->authenticate(basic("bob", "bob-pw"), busy)).user == "bob");
}

TEST_CASE("sessions: login, use, expiry after the lifetime, logout") {
  Fixture f;
  const auto browser = from("10.0.0.5");
  auto wrong = f.auth->login("alice", "nope", browser);
  REQUIRE_FALSE(wrong.has_value());
  CHECK(wrong.error().message == "wrong user name or password");
  CHECK(wrong.error().retry_after == 0s);
  CHECK(f.auth->session_count() == 0);

  const auto token = f.auth->login("bob", "bob-pw", browser).value();
  CHECK(token.size() == 43);
  CHECK(f.auth->session_count() == 1);
  auto bob = accepted(f.auth->authenticate(cookie(token), browser));
  CHECK(bob.user == "bob");
  CHECK(bob.namespaces == std::vector<std::string>{"team-a", "team-b"});
  // The cookie works from anywhere: it is the credential.
  CHECK(accepted(f.auth->authenticate(cookie(token), from("10.0.0.6"))).user == "bob");

  f.clock.advance(12h - 1s);
  CHECK(accepted(f.auth->authenticate(cookie(token), browser)).user == "bob");
  f.clock.advance(1s);
  auto expired = refused(f.auth->authenticate(cookie(token), browser));
  CHECK(expired.result() == bhttp::status::unauthorized);
  CHECK(reason_of(expired) == "the session expired; log in again");
  CHECK(f.auth->session_count() == 0);

  const auto second = f.auth->login("alice", "alice-pw", browser).value();
  CHECK(second != token);
  CHECK(accepted(f.auth->authenticate(cookie(second), browser)).user == "alice");
  f.auth->logout(second);
  CHECK(reason_of(refused(f.auth->authenticate(cookie(second), browser))) ==
        "no such session (logged out, expired or the server restarted); log in again");
  f.auth->logout("never-issued");  // harmless

  // A browser resending a stale cookie is not an attacker: no failures counted, no lockout.
  for (int i = 0; i < 20; ++i) {
    refused(f.auth->authenticate(cookie(second), browser));
  }
  CHECK(f.auth->stats().failures.load() == 1);  // the wrong login above
  CHECK(f.auth->login("alice", "alice-pw", browser).has_value());
}

TEST_CASE("a session ends when its lifetime is configured shorter, and when its user is removed") {
  Fixture f;
  f.options.session_lifetime = 30min;
  auto auth = Authenticator::create(f.options).value();
  const auto token = auth->login("carol", "carol-pw", from("10.0.0.7")).value();
  f.clock.advance(29min);
  CHECK(accepted(auth->authenticate(cookie(token), from("10.0.0.7"))).user == "carol");
  f.clock.advance(1min);
  CHECK(refused(auth->authenticate(cookie(token), from("10.0.0.7"))).result() == bhttp::status::unauthorized);

  const auto again = f.auth->login("carol", "carol-pw", from("10.0.0.7")).value();
  f.rewrite("users", "alice:" + f.alice_hash + "\n");
  f.clock.advance(5s);
  CHECK(reason_of(refused(f.auth->authenticate(cookie(again), from("10.0.0.7")))) ==
        "the session's user no longer exists");
}

TEST_CASE("namespace restriction") {
  Fixture f;
  const auto bob = accepted(f.auth->authenticate(basic("bob", "bob-pw"), from("10.0.0.8")));
  CHECK(bob.allows("team-a"));
  CHECK(bob.allows("team-b"));
  CHECK_FALSE(bob.allows("team-c"));
  CHECK_FALSE(bob.allows(""));
  const auto alice = accepted(f.auth->authenticate(basic("alice", "alice-pw"), from("10.0.0.8")));
  CHECK(alice.allows("team-c"));
  CHECK(alice.allows("kube-system"));
  const auto ci = accepted(f.auth->authenticate(bearer("tok-123"), from("10.0.0.8")));
  CHECK(ci.allows("team-a"));
  CHECK_FALSE(ci.allows("team-b"));

  const auto forbidden = forbidden_namespace(basic("bob", "bob-pw"), bob, "team-c");
  CHECK(forbidden.result() == bhttp::status::forbidden);
  CHECK(forbidden.body() == R"({"error":"forbidden","reason":"user \"bob\" may not read namespace \"team-c\""})");
}

TEST_CASE("changed files are re-read after the check interval; a bad file keeps the old table") {
  Fixture f;
  const auto info = from("10.0.0.9");
  const auto dave_hash = hash_password("dave-pw", "$6$").value();
  // bob loses team-b, dave arrives, the bot token is revoked.
  f.rewrite("users", "alice:" + f.alice_hash + "\nbob:" + f.bob_hash + ":team-a\ndave:" + dave_hash + "\n");
  f.rewrite("tokens", "ci:sha256:" + to_hex(sha256("tok-123")) + ":team-a\n");
  f.clock.advance(4s);  // not yet time to look
  CHECK(refused(f.auth->authenticate(basic("dave", "dave-pw"), info)).result() == bhttp::status::unauthorized);
  f.clock.advance(1s);
  CHECK(accepted(f.auth->authenticate(basic("dave", "dave-pw"), info)).user == "dave");
  CHECK(accepted(f.auth->authenticate(basic("bob", "bob-pw"), info)).namespaces == std::vector<std::string>{"team-a"});
  CHECK(reason_of(refused(f.auth->authenticate(bearer("tok-bot"), info))) == "unknown or revoked bearer token");
  CHECK(refused(f.auth->authenticate(basic("carol", "carol-pw"), info)).result() == bhttp::status::unauthorized);
  CHECK(f.auth->stats().reloads.load() == 2);
  CHECK(f.auth->user_count() == 3);

  // A broken edit: the old table stays, and the error is counted once, not at every check.
  f.rewrite("users", "alice:" + f.alice_hash + "\ndave:hunter2\n");
  f.rewrite("tokens", "ci:tok-123\n");
  f.clock.advance(5s);
  f.auth->reload_changed_files();
  CHECK(accepted(f.auth->authenticate(basic("dave", "dave-pw"), info)).user == "dave");
  CHECK(accepted(f.auth->authenticate(bearer("tok-123"), info)).user == "ci");
  f.clock.advance(5s);
  f.auth->reload_changed_files();
  CHECK(f.auth->stats().reload_errors.load() == 2);
  CHECK(f.auth->user_count() == 3);

  // A file that disappears is a bad file too.
  std::filesystem::remove(f.tokens);
  f.clock.advance(5s);
  f.auth->reload_changed_files();
  CHECK(f.auth->stats().reload_errors.load() == 3);
  CHECK(accepted(f.auth->authenticate(bearer("tok-123"), info)).user == "ci");

  // Fixed: picked up.
  f.rewrite("users", f.users_text());
  f.clock.advance(5s);
  CHECK(accepted(f.auth->authenticate(basic("carol", "carol-pw"), info)).user == "carol");
  CHECK(refused(f.auth->authenticate(basic("dave", "dave-pw"), info)).result() == bhttp::status::unauthorized);
}

TEST_CASE("a changed password takes effect at once despite the verified-password cache") {
  Fixture f;
  const auto info = from("10.0.0.10");
  CHECK(accepted(f.auth->authenticate(basic("alice", "alice-pw"), info)).user == "alice");
  CHECK(accepted(f.auth->authenticate(basic("alice", "alice-pw"), info)).user == "alice");  // cached
  f.rewrite("users", "alice:" + hash_password("new-pw", "$6$").value() + "\n");
  f.clock.advance(5s);
  CHECK(refused(f.auth->authenticate(basic("alice", "alice-pw"), info)).result() == bhttp::status::unauthorized);
  CHECK(accepted(f.auth->authenticate(basic("alice", "new-pw"), info)).user == "alice");
}

TEST_CASE("start-up errors name the file and the line") {
  TempDir dir;
  ManualClock clock;
  AuthOptions options;
  options.clock = clock;
  auto none = Authenticator::create(options);
  REQUIRE_FALSE(none.has_value());
  CHECK(none.error().message == "authentication needs a users file, a tokens file, or a user from API_USERNAME");

  options.users_file = dir.path() / "missing";
  auto missing = Authenticator::create(options);
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().message == "users file " + options.users_file.string() + ": cannot read the file");

  options.users_file = dir.write("users", "# ok\nalice:" + hash_password("pw", "$6$").value() + "\nbob:plain\n");
  auto bad = Authenticator::create(options);
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().message.starts_with("users file " + options.users_file.string() + " line 3: user \"bob\": "));

  options.users_file.clear();
  options.tokens_file = dir.write("tokens", "ci:sha256:abc\n");
  auto bad_tokens = Authenticator::create(options);
  REQUIRE_FALSE(bad_tokens.has_value());
  CHECK(bad_tokens.error().message.starts_with("tokens file " + options.tokens_file.string() + " line 1: "));

  // Tokens only: password attempts are checked against a dummy hash and fail like unknown users.
  options.tokens_file = dir.write("tokens", "ci:sha256:" + to_hex(sha256("tok")) + "\n");
  auto tokens_only = Authenticator::create(options).value();
  CHECK(accepted(tokens_only->authenticate(bearer("tok"), from("10.0.0.11"))).user == "ci");
  CHECK(reason_of(refused(tokens_only->authenticate(basic("ci", "tok"), from("10.0.0.11")))) ==
        "wrong user name or password");
}

TEST_CASE("a session ends when its user's password changes in the users file, and only then") {
  Fixture f;
  const auto browser = from("10.0.0.20");
  const auto token = f.auth->login("alice", "alice-pw", browser).value();
  // A reload that leaves alice's hash as it was (bob loses a namespace, carol goes) keeps her in.
  f.rewrite("users", "alice:" + f.alice_hash + "\nbob:" + f.bob_hash + ":team-a\n");
  f.clock.advance(5s);
  CHECK(accepted(f.auth->authenticate(cookie(token), browser)).user == "alice");
  CHECK(f.auth->stats().reloads.load() == 1);

  // The password is rotated: the session made with the old one ends at the next reload.
  f.rewrite("users", "alice:" + hash_password("rotated-pw", "$6$").value() + "\nbob:" + f.bob_hash + "\n");
  f.clock.advance(5s);
  const auto ended = refused(f.auth->authenticate(cookie(token), browser));
  CHECK(ended.result() == bhttp::status::unauthorized);
  CHECK(reason_of(ended) == "the password changed since this session began; log in again");
  CHECK(f.auth->session_count() == 0);
  CHECK(f.auth->stats().failures.load() == 0);  // the browser's cookie is not an attack
  // Putting the old hash back does not bring the session back.
  f.rewrite("users", "alice:" + f.alice_hash + "\n");
  f.clock.advance(5s);
  CHECK(reason_of(refused(f.auth->authenticate(cookie(token), browser))) ==
        "no such session (logged out, expired or the server restarted); log in again");
  // A login with the current password makes a session bound to it.
  const auto fresh = f.auth->login("alice", "alice-pw", browser).value();
  CHECK(accepted(f.auth->authenticate(cookie(fresh), browser)).user == "alice");
}

namespace {

// CPU time of this thread: the work a check did, whatever else the machine is doing.
std::chrono::nanoseconds thread_cpu_time() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

// The least CPU time of three failed Basic logins as `user` (the synchronous check hashes on this
// thread, so its CPU time is the check's work).
std::chrono::nanoseconds login_work(Authenticator& auth, const std::string& user) {
  auto least = std::chrono::nanoseconds::max();
  for (int i = 0; i < 3; ++i) {
    const auto start = thread_cpu_time();
    refused(auth.authenticate(basic(user, "not-the-password"), from("10.0.0.21")));
    least = std::min(least, thread_cpu_time() - start);
  }
  return least;
}

}  // namespace

TEST_CASE("an unknown user name costs what the dearest configured user costs") {
  // sha512-crypt first in the file (~1-3 ms of CPU a check), bcrypt-10 after it (~50 ms).
  TempDir dir;
  ManualClock clock;
  AuthOptions options;
  options.users_file = dir.write("users", "fast:" + hash_password("fast-pw", "$6$").value() +
                                              "\nslow:" + hash_password("slow-pw", "$2b$", 10).value() + "\n");
  options.rate_limit.max_failures = 0;  // the attempts below are measurements, not an attack
  options.clock = clock;
  auto auth = Authenticator::create(options).value();

  const auto unknown = login_work(*auth, "nobody");
  const auto slow = login_work(*auth, "slow");
  const auto fast = login_work(*auth, "fast");
  CHECK(auth->stats().password_hashes.load() == 9);
  // One check against a hash of the dearest setting: the same work as the bcrypt user's, within a
  // factor of two either way (CPU time of the least of three runs varies by a few per cent); a
  // check against the sha512-crypt user's hash would be ~20 times cheaper.
  CHECK(unknown * 2 > slow);
  CHECK(unknown < slow * 2);
  CHECK(fast * 5 < slow);  // the measurement does tell the two methods apart
}

TEST_CASE("a fixed user (API_USERNAME) works alone or beside the users file, and survives its reloads") {
  UserEntry kube_app{"kubeapp", hash_password("env-pw", "$6$").value(), {}};
  AuthOptions alone;
  alone.fixed_users = {kube_app};
  auto only = Authenticator::create(alone).value();
  CHECK(accepted(only->authenticate(headers("kubeapp", "env-pw"), from("10.0.0.1"))).user == "kubeapp");
  CHECK(accepted(only->authenticate(basic("kubeapp", "env-pw"), from("10.0.0.1"))).namespaces.empty());
  CHECK(refused(only->authenticate(headers("kubeapp", "wrong"), from("10.0.0.1"))).result() ==
        bhttp::status::unauthorized);
  CHECK(only->login("kubeapp", "env-pw", from("10.0.0.1")).has_value());  // the web UI too

  Fixture f;
  f.options.fixed_users = {kube_app};
  auto both = Authenticator::create(f.options).value();
  CHECK(both->user_count() == 4);
  CHECK(accepted(both->authenticate(headers("kubeapp", "env-pw"), from("10.0.0.2"))).user == "kubeapp");
  CHECK(accepted(both->authenticate(headers("alice", "alice-pw"), from("10.0.0.2"))).user == "alice");
  f.rewrite("users", f.users_text("dave:" + f.alice_hash + "\n"));
  f.clock.advance(10s);
  both->reload_changed_files();
  CHECK(both->user_count() == 5);
  CHECK(accepted(both->authenticate(headers("kubeapp", "env-pw"), from("10.0.0.2"))).user == "kubeapp");

  // The users file may not name the same user: at start an error, on reload the old table stays.
  f.rewrite("users", f.users_text("kubeapp:" + f.alice_hash + "\n"));
  f.clock.advance(10s);
  both->reload_changed_files();
  CHECK(both->user_count() == 5);
  CHECK(accepted(both->authenticate(headers("kubeapp", "env-pw"), from("10.0.0.2"))).user == "kubeapp");
  CHECK(Authenticator::create(f.options).error().message ==
        "the users file names \"kubeapp\", the user API_USERNAME already gives: keep one");
}
