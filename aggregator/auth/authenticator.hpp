#pragma once

// Who is asking: checks the credentials a request carries against the users file (crypt(3)
// password hashes) and the tokens file (SHA-256 digests of bearer tokens), keeps web sessions,
// limits failed attempts per remote address and per user name, and re-reads both files when they
// change. Thread-safe; password hashing runs outside the lock, and in the *_async calls on a small
// pool of its own so that the serving thread never waits for it.

#include "aggregator/auth/credential_files.hpp"
#include "aggregator/auth/dummy_hash.hpp"
#include "aggregator/auth/failure_limiter.hpp"
#include "aggregator/auth/hash_pool.hpp"
#include "aggregator/auth/presented.hpp"
#include "common/clock.hpp"
#include "common/result.hpp"
#include "http/server.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

namespace nodepack::auth {

struct Principal {
  std::string user;
  std::vector<std::string> namespaces;  // empty: every namespace
  bool allows(std::string_view ns) const;
};

struct AuthOptions {
  std::filesystem::path users_file;   // `name:hash[:namespaces]`; empty: no password logins
  std::filesystem::path tokens_file;  // `name:sha256:<hex>[:namespaces]`; empty: no bearer tokens
  // Users given at start rather than in a file (Kube-App's API_USERNAME/API_PASSWORD, hashed
  // already): kept across reloads of the users file, which may not name them too.
  std::vector<UserEntry> fixed_users;
  std::chrono::seconds session_lifetime = std::chrono::hours(12);  // from login, not sliding
  std::size_t max_sessions = 10'000;                               // beyond it the session closest to expiry is dropped
  RateLimitOptions rate_limit;
  std::chrono::seconds reload_interval{5};  // how often the files' mtimes are looked at
  // A password verified this recently is accepted again without running crypt(3): API clients
  // that send Basic or X-PASSWORD on every request would otherwise pay ~30 ms (yescrypt) each.
  // 0 switches the cache off.
  std::chrono::seconds verified_cache_lifetime{300};
  // Threads and queue of the pool the *_async calls hash on; a full queue answers 503.
  HashPoolOptions hashing;
  std::reference_wrapper<const Clock> clock = SystemClock::instance();
};

// Counters for the aggregator's self-metrics.
struct AuthStats {
  std::atomic<std::uint64_t> successes{0};
  std::atomic<std::uint64_t> failures{0};         // wrong credentials, counted by the rate limit
  std::atomic<std::uint64_t> rate_limited{0};     // 429s
  std::atomic<std::uint64_t> missing{0};          // no credentials, or a stale session cookie
  std::atomic<std::uint64_t> password_hashes{0};  // crypt(3) runs, unknown users' included
  std::atomic<std::uint64_t> busy{0};             // 503s: the hashing queue was full, nothing checked
  std::atomic<std::uint64_t> reloads{0};
  std::atomic<std::uint64_t> reload_errors{0};  // a changed file that did not parse (old table kept)
};

// A refused web login: the reason for the form and, when the attempt was rate-limited or the
// hashing queue was full (nothing was checked), how long to wait, so the form can answer 429 or
// 503 with Retry-After like the API does.
struct LoginRefusal {
  std::string message;
  std::chrono::seconds retry_after{0};
  bool busy = false;  // the hashing queue was full: 503, not 429
};
// So .value() on a refused login throws with its message, as Result does.
[[noreturn]] inline void throw_exception_from_error(const LoginRefusal& e, const boost::source_location&) {
  throw ErrorException(e.message);
}
using LoginResult = boost::system::result<std::string, LoginRefusal>;

class Authenticator {
 public:
  // Reads the files; a bad file is an error naming the file and line. At least one file or fixed
  // user is needed.
  static Result<std::unique_ptr<Authenticator>> create(AuthOptions options);
  ~Authenticator();
  Authenticator(const Authenticator&) = delete;
  Authenticator& operator=(const Authenticator&) = delete;

  // One of: the session cookie `nodepack_session`, `Authorization: Bearer <token>`,
  // `Authorization: Basic`, or the seed's `X-USERNAME` + `X-PASSWORD` headers.
  // On failure: the ready-made JSON reply to send (401 with WWW-Authenticate, 429 with Retry-After
  // when rate-limited, 503 with Retry-After when the hashing queue is full), body
  // {"error": "...", "reason": "..."}.
  // A password is hashed on the hashing pool and the file check runs there too; the caller's
  // thread serves other requests meanwhile. `request` and `info` must outlive the wait.
  boost::asio::awaitable<std::variant<Principal, http::Response>> authenticate_async(const http::Request& request,
                                                                                     const http::RequestInfo& info);
  // Web login: checks the password (rate-limited like everything else, hashed on the pool) and
  // makes a session bound to the user's current password hash; returns the session token to put
  // in the cookie, or why it was refused.
  boost::asio::awaitable<LoginResult> login_async(std::string user, std::string password, http::RequestInfo info);
  // The same two, hashing on the calling thread (never refused as busy): for callers without an
  // executor. A server calling these stalls every other request for the length of a hash.
  std::variant<Principal, http::Response> authenticate(const http::Request& request, const http::RequestInfo& info);
  LoginResult login(std::string_view user, std::string_view password, const http::RequestInfo& info);
  void logout(std::string_view session_token);

  // Re-reads whichever file changed since it was last read (authenticate and login do this by
  // themselves at most every reload_interval).
  void reload_changed_files();

  const AuthStats& stats() const { return stats_; }
  std::size_t session_count() const;
  std::size_t user_count() const;
  std::size_t token_count() const;

 private:
  struct Users;
  struct Session {
    std::string user;
    // SHA-256 of the password hash the login was checked against: once the users file holds
    // another hash for the user (the password was changed), the session ends.
    Digest credential;
    std::chrono::steady_clock::time_point expires;
  };
  struct FileStamp {
    bool exists = false;
    std::uint64_t device = 0;
    std::uint64_t inode = 0;
    std::int64_t mtime_ns = 0;
    std::int64_t size = 0;
    bool operator==(const FileStamp&) const = default;
  };
  struct WatchedFile {
    std::filesystem::path path;
    FileStamp loaded;    // what the table came from
    FileStamp rejected;  // the last version that did not parse, so it is logged once
  };
  // What a password or token check decided.
  struct Verdict {
    std::optional<Principal> principal;
    std::chrono::seconds retry_after{0};  // set: rate-limited, or busy; nothing was checked
    bool busy = false;                    // the hashing queue was full
    std::string reason;                   // for the reply and the log when it failed
    std::string hash;                     // a password that matched: the hash it matched
  };
  // A password check up to the hash: who, against what, and what to record afterwards.
  struct PendingPassword;

  explicit Authenticator(AuthOptions options);
  // The users file's entries with the fixed users added; an error when the file names one of them.
  Result<std::vector<UserEntry>> with_fixed_users(Result<std::vector<UserEntry>> from_file) const;
  static FileStamp stamp_of(const std::filesystem::path& path);
  bool reload_due();
  void maybe_reload();
  boost::asio::awaitable<void> maybe_reload_async();
  // A finished verdict (rate-limited, or a password verified recently), or the hash still to run.
  std::variant<Verdict, PendingPassword> begin_password(std::string_view user, std::string_view password,
                                                        const std::string& address);
  Verdict finish_password(const PendingPassword& pending, bool matched);
  Verdict check_password(std::string_view user, std::string_view password, const std::string& address);
  boost::asio::awaitable<Verdict> check_password_async(std::string user, std::string password, std::string address);
  Verdict check_token(std::string_view token, const std::string& address);
  Verdict check_session(std::string_view token);
  // Every kind of credentials but a password (which needs a hash): no credentials, malformed ones,
  // a session cookie, a bearer token.
  Verdict check_at_once(const Presented& presented, const std::string& address);
  // The request's principal, or the reply refusing it; counts and logs.
  std::variant<Principal, http::Response> decide(const http::Request& request, const Presented& presented,
                                                 const std::string& address, Verdict verdict);
  LoginResult login_outcome(std::string_view user, const std::string& address, Verdict verdict);
  // Records a failure against every key; logs when a key becomes blocked.
  void record_failure(const std::vector<std::string>& keys);
  std::chrono::seconds blocked_for(const std::vector<std::string>& keys);
  std::string new_session(const std::string& user, const std::string& hash);

  AuthOptions options_;
  const Clock& clock_;
  AuthStats stats_;
  Digest cache_key_{};

  std::mutex reload_mutex_;  // one reload at a time; guards the WatchedFiles and the chooser
  WatchedFile users_file_;
  WatchedFile tokens_file_;
  DummyHashChooser dummy_chooser_;

  mutable std::mutex mutex_;  // everything below
  std::shared_ptr<const Users> users_;
  std::shared_ptr<const std::vector<TokenEntry>> tokens_;
  FailureLimiter limiter_;
  std::unordered_map<std::string, Session> sessions_;  // key: SHA-256 of the session token
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> verified_;  // HMAC key -> expiry
  std::chrono::steady_clock::time_point next_reload_check_{};

  // Last: destroyed first, so that no job still running on it outlives what it uses.
  std::unique_ptr<HashPool> pool_;
};

// A JSON error reply as every API endpoint sends them: {"error": short, "reason": sentence}.
http::Response error_response(const http::Request& request, boost::beast::http::status status, std::string_view error,
                              std::string_view reason);
// 403 for a principal asking about a namespace outside its list.
http::Response forbidden_namespace(const http::Request& request, const Principal& principal, std::string_view ns);

}  // namespace nodepack::auth
