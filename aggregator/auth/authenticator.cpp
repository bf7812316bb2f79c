#include "aggregator/auth/authenticator.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <stdexcept>

namespace nodepack::auth {

namespace bhttp = boost::beast::http;
using Kind = Presented::Kind;

namespace {

constexpr std::size_t max_verified_cache = 1024;
constexpr std::size_t max_logged_name = 64;
// What a caller refused for a full hashing queue is told to wait: the queue holds a few seconds of
// work at most, and a second is long enough not to turn a burst into a retry storm.
constexpr std::chrono::seconds busy_retry_after{1};

// A user name as it may appear in a log line: printable ASCII only, cut short.
std::string loggable(std::string_view name) {
  std::string out;
  for (const char c : name.substr(0, max_logged_name)) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(u >= 0x20 && u < 0x7f && c != '"' && c != '\\' ? c : '?');
  }
  if (name.size() > max_logged_name) {
    out += "...";
  }
  return out;
}

std::string address_of(const http::RequestInfo& info) {
  auto address = info.remote.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, address.to_v6());
  }
  return address.to_string();
}

std::string key_of(const Digest& digest) { return std::string(digest.begin(), digest.end()); }

// Credentials checked by hashing a password, hence on the pool when asynchronous.
bool is_password(Kind kind) { return kind == Kind::basic || kind == Kind::headers; }

}  // namespace

bool Principal::allows(std::string_view ns) const {
  return namespaces.empty() || std::find(namespaces.begin(), namespaces.end(), ns) != namespaces.end();
}

http::Response error_response(const http::Request& request, bhttp::status status, std::string_view error,
                              std::string_view reason) {
  const boost::json::object body{{"error", error}, {"reason", reason}};
  auto response = http::make_response(request, status, boost::json::serialize(body), "application/json");
  response.set(bhttp::field::cache_control, "no-store");
  return response;
}

http::Response forbidden_namespace(const http::Request& request, const Principal& principal, std::string_view ns) {
  return error_response(request, bhttp::status::forbidden, "forbidden",
                        "user \"" + principal.user + "\" may not read namespace \"" + std::string(ns) + "\"");
}

struct Authenticator::Users {
  std::unordered_map<std::string, UserEntry> by_name;
  // Unknown users are checked against this, so that they cost as much time as known ones and a
  // stopwatch cannot tell which user names exist: the hash of a user with the dearest method and
  // cost in the file (dummy_hash.hpp), or a yescrypt hash when there are no users.
  std::string dummy_hash;
};

struct Authenticator::PendingPassword {
  std::vector<std::string> keys;       // for the failure limiter
  std::shared_ptr<const Users> users;  // the table `entry` is in, kept while the hash runs
  const UserEntry* entry = nullptr;    // null: an unknown user
  std::string hash;                    // what the password is checked against
  std::string cache_key;               // the verified-password cache's key for this attempt
};

Authenticator::Authenticator(AuthOptions options)
    : options_(std::move(options)), clock_(options_.clock.get()), limiter_(options_.rate_limit) {
  users_file_.path = options_.users_file;
  tokens_file_.path = options_.tokens_file;
}

Authenticator::~Authenticator() = default;

Result<std::vector<UserEntry>> Authenticator::with_fixed_users(Result<std::vector<UserEntry>> from_file) const {
  if (!from_file) {
    return from_file;
  }
  for (const auto& fixed : options_.fixed_users) {
    for (const auto& entry : *from_file) {
      if (entry.name == fixed.name) {
        return fail("the users file names \"" + fixed.name + "\", the user API_USERNAME already gives: keep one");
      }
    }
    from_file->push_back(fixed);
  }
  return from_file;
}

Result<std::unique_ptr<Authenticator>> Authenticator::create(AuthOptions options) {
  if (options.users_file.empty() && options.tokens_file.empty() && options.fixed_users.empty()) {
    return fail("authentication needs a users file, a tokens file, or a user from API_USERNAME");
  }
  std::unique_ptr<Authenticator> auth(new Authenticator(std::move(options)));
  if (RAND_bytes(auth->cache_key_.data(), static_cast<int>(auth->cache_key_.size())) != 1) {
    return fail("OpenSSL RAND_bytes failed: no randomness for session tokens");
  }
  auto users = std::make_shared<Users>();
  if (!auth->users_file_.path.empty() || !auth->options_.fixed_users.empty()) {
    if (!auth->users_file_.path.empty()) {
      auth->users_file_.loaded = stamp_of(auth->users_file_.path);
    }
    auto entries =
        auth->with_fixed_users(auth->users_file_.path.empty() ? Result<std::vector<UserEntry>>(std::vector<UserEntry>{})
                                                              : load_users_file(auth->users_file_.path));
    if (!entries) {
      return entries.error();
    }
    users->dummy_hash = auth->dummy_chooser_.choose(*entries);
    for (auto& entry : *entries) {
      users->by_name.emplace(entry.name, std::move(entry));
    }
  }
  if (users->dummy_hash.empty()) {
    auto dummy = hash_password(random_token(), "$y$");
    if (!dummy) {
      return dummy.error();
    }
    users->dummy_hash = *dummy;
  }
  auth->users_ = std::move(users);
  auto tokens = std::make_shared<std::vector<TokenEntry>>();
  if (!auth->tokens_file_.path.empty()) {
    auth->tokens_file_.loaded = stamp_of(auth->tokens_file_.path);
    auto entries = load_tokens_file(auth->tokens_file_.path);
    if (!entries) {
      return entries.error();
    }
    *tokens = std::move(*entries);
  }
  auth->tokens_ = std::move(tokens);
  auth->next_reload_check_ = auth->clock_.steady_now() + auth->options_.reload_interval;
  auth->pool_ = std::make_unique<HashPool>(auth->options_.hashing);
  return auth;
}

Authenticator::FileStamp Authenticator::stamp_of(const std::filesystem::path& path) {
  // stat() follows symlinks: a Kubernetes Secret volume swaps its ..data link on update, which
  // shows here as a new inode.
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return {};
  }
  return {true, static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino),
          static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
          static_cast<std::int64_t>(st.st_size)};
}

bool Authenticator::reload_due() {
  std::lock_guard lock(mutex_);
  const auto now = clock_.steady_now();
  if (now < next_reload_check_) {
    return false;
  }
  next_reload_check_ = now + options_.reload_interval;
  return true;
}

void Authenticator::maybe_reload() {
  if (reload_due()) {
    reload_changed_files();
  }
}

boost::asio::awaitable<void> Authenticator::maybe_reload_async() {
  if (!reload_due()) {
    co_return;
  }
  // Reading a changed file (up to 16 MiB) and measuring a new kind of hash are not for the
  // serving thread either.
  auto reload = [this] {
    reload_changed_files();
    return true;
  };
  const auto done = co_await pool_->run(std::move(reload));
  if (!done) {
    // The pool is full of logins: look again at the next request rather than wait here.
    std::lock_guard lock(mutex_);
    next_reload_check_ = clock_.steady_now();
  }
}

void Authenticator::reload_changed_files() {
  std::lock_guard reload_lock(reload_mutex_);
  // Each file: unchanged, or already rejected in this exact version, means nothing to do.
  const auto changed = [](WatchedFile& file) -> std::optional<FileStamp> {
    if (file.path.empty()) {
      return std::nullopt;
    }
    const auto stamp = stamp_of(file.path);
    if (stamp == file.loaded || stamp == file.rejected) {
      return std::nullopt;
    }
    return stamp;
  };
  const auto rejected = [this](WatchedFile& file, const FileStamp& stamp, const std::string& why) {
    file.rejected = stamp;
    ++stats_.reload_errors;
    spdlog::error("auth: keeping the previous table: {}", why);
  };

  if (const auto stamp = changed(users_file_)) {
    auto entries = with_fixed_users(
        stamp->exists ? load_users_file(users_file_.path)
                      : Result<std::vector<UserEntry>>(fail("users file " + users_file_.path.string() + " is gone")));
    if (!entries) {
      rejected(users_file_, *stamp, entries.error().message);
    } else {
      auto users = std::make_shared<Users>();
      users->dummy_hash = dummy_chooser_.choose(*entries);
      for (auto& entry : *entries) {
        users->by_name.emplace(entry.name, std::move(entry));
      }
      std::lock_guard lock(mutex_);
      if (users->dummy_hash.empty()) {
        users->dummy_hash = users_->dummy_hash;
      }
      const auto count = users->by_name.size();
      users_ = std::move(users);
      users_file_.loaded = *stamp;
      users_file_.rejected = {};
      ++stats_.reloads;
      spdlog::info("auth: reloaded users file {} ({} users)", users_file_.path.string(), count);
    }
  }
  if (const auto stamp = changed(tokens_file_)) {
    auto entries =
        stamp->exists ? load_tokens_file(tokens_file_.path)
                      : Result<std::vector<TokenEntry>>(fail("tokens file " + tokens_file_.path.string() + " is gone"));
    if (!entries) {
      rejected(tokens_file_, *stamp, entries.error().message);
    } else {
      auto tokens = std::make_shared<std::vector<TokenEntry>>(std::move(*entries));
      std::lock_guard lock(mutex_);
      const auto count = tokens->size();
      tokens_ = std::move(tokens);
      tokens_file_.loaded = *stamp;
      tokens_file_.rejected = {};
      ++stats_.reloads;
      spdlog::info("auth: reloaded tokens file {} ({} tokens)", tokens_file_.path.string(), count);
    }
  }
}

std::chrono::seconds Authenticator::blocked_for(const std::vector<std::string>& keys) {
  std::lock_guard lock(mutex_);
  const auto now = clock_.steady_now();
  std::chrono::seconds wait{0};
  for (const auto& key : keys) {
    wait = std::max(wait, limiter_.blocked_for(key, now));
  }
  return wait;
}

void Authenticator::record_failure(const std::vector<std::string>& keys) {
  ++stats_.failures;
  std::lock_guard lock(mutex_);
  const auto now = clock_.steady_now();
  for (const auto& key : keys) {
    limiter_.record_failure(key, now);
    if (const auto wait = limiter_.blocked_for(key, now); wait.count() > 0) {
      spdlog::warn("auth: {} blocked for {} s after {} failed attempts", key, wait.count(),
                   options_.rate_limit.max_failures);
    }
  }
}

auto Authenticator::begin_password(std::string_view user, std::string_view password, const std::string& address)
    -> std::variant<Verdict, PendingPassword> {
  PendingPassword pending;
  pending.keys = {"address " + address, "user \"" + loggable(user) + "\""};
  Verdict verdict;
  verdict.retry_after = blocked_for(pending.keys);
  if (verdict.retry_after.count() > 0) {
    return verdict;
  }
  {
    std::lock_guard lock(mutex_);
    pending.users = users_;
  }
  const auto entry = pending.users->by_name.find(std::string(user));
  pending.entry = entry == pending.users->by_name.end() ? nullptr : &entry->second;
  pending.hash = pending.entry != nullptr ? pending.entry->hash : pending.users->dummy_hash;

  // The cache key binds the user, the password and the current hash, so a changed password or a
  // removed user misses the cache by itself.
  std::string material(user);
  material.push_back('\0');
  material.append(password);
  material.push_back('\0');
  material.append(pending.hash);
  pending.cache_key = key_of(hmac_sha256(cache_key_, material));
  OPENSSL_cleanse(material.data(), material.size());
  bool verified_recently = false;
  if (pending.entry != nullptr && options_.verified_cache_lifetime.count() > 0) {
    std::lock_guard lock(mutex_);
    const auto hit = verified_.find(pending.cache_key);
    verified_recently = hit != verified_.end() && hit->second > clock_.steady_now();
  }
  if (verified_recently) {
    return finish_password(pending, true);
  }
  return pending;
}

Authenticator::Verdict Authenticator::finish_password(const PendingPassword& pending, bool matched) {
  Verdict verdict;
  // An unknown user was checked against another user's hash: a match means nothing.
  if (!matched || pending.entry == nullptr) {
    record_failure(pending.keys);
    verdict.reason = "wrong user name or password";
    return verdict;
  }
  if (options_.verified_cache_lifetime.count() > 0) {
    const auto now = clock_.steady_now();
    std::lock_guard lock(mutex_);
    if (verified_.size() >= max_verified_cache) {
      std::erase_if(verified_, [now](const auto& item) { return item.second <= now; });
      if (verified_.size() >= max_verified_cache) {
        verified_.clear();
      }
    }
    verified_[pending.cache_key] = now + options_.verified_cache_lifetime;
  }
  verdict.principal = Principal{pending.entry->name, pending.entry->namespaces};
  verdict.hash = pending.hash;
  return verdict;
}

Authenticator::Verdict Authenticator::check_password(std::string_view user, std::string_view password,
                                                     const std::string& address) {
  auto begun = begin_password(user, password, address);
  if (auto* verdict = std::get_if<Verdict>(&begun)) {
    return std::move(*verdict);
  }
  const auto& pending = std::get<PendingPassword>(begun);
  // Runs for unknown users too (against the dummy hash), and outside the lock.
  ++stats_.password_hashes;
  return finish_password(pending, verify_password(password, pending.hash));
}

boost::asio::awaitable<Authenticator::Verdict> Authenticator::check_password_async(std::string user,
                                                                                   std::string password,
                                                                                   std::string address) {
  auto begun = begin_password(user, password, address);
  if (auto* verdict = std::get_if<Verdict>(&begun)) {
    OPENSSL_cleanse(password.data(), password.size());
    co_return std::move(*verdict);
  }
  const auto pending = std::get<PendingPassword>(std::move(begun));
  // The job owns its copies: the waiting coroutine may be destroyed at shutdown while it runs.
  // Named, not written inside the co_await (see HashPool::run).
  auto check = [this, password = std::move(password), hash = pending.hash]() mutable {
    ++stats_.password_hashes;
    const bool ok = verify_password(password, hash);
    OPENSSL_cleanse(password.data(), password.size());
    return ok;
  };
  const auto matched = co_await pool_->run(std::move(check));
  if (!matched) {
    ++stats_.busy;
    Verdict verdict;
    verdict.busy = true;
    verdict.retry_after = busy_retry_after;
    verdict.reason =
        "too many passwords are being checked at once; retry in " + std::to_string(busy_retry_after.count()) + " s";
    co_return verdict;
  }
  co_return finish_password(pending, *matched);
}

Authenticator::Verdict Authenticator::check_token(std::string_view token, const std::string& address) {
  const std::vector<std::string> keys{"address " + address};
  Verdict verdict;
  verdict.retry_after = blocked_for(keys);
  if (verdict.retry_after.count() > 0) {
    return verdict;
  }
  std::shared_ptr<const std::vector<TokenEntry>> tokens;
  {
    std::lock_guard lock(mutex_);
    tokens = tokens_;
  }
  const auto digest = sha256(token);
  const TokenEntry* match = nullptr;
  // Every entry is compared, so the time taken does not depend on where (or whether) it matches.
  for (const auto& entry : *tokens) {
    if (digests_equal(entry.digest, digest)) {
      match = &entry;
    }
  }
  if (match == nullptr) {
    record_failure(keys);
    verdict.reason = "unknown or revoked bearer token";
    return verdict;
  }
  verdict.principal = Principal{match->name, match->namespaces};
  return verdict;
}

// A session cookie is 256 random bits: guessing one is hopeless, so a stale cookie (which a browser
// keeps sending after expiry or a restart) is not counted as a failed attempt.
Authenticator::Verdict Authenticator::check_session(std::string_view token) {
  Verdict verdict;
  const auto key = key_of(sha256(token));
  std::lock_guard lock(mutex_);
  const auto it = sessions_.find(key);
  if (it == sessions_.end()) {
    verdict.reason = "no such session (logged out, expired or the server restarted); log in again";
    return verdict;
  }
  if (it->second.expires <= clock_.steady_now()) {
    sessions_.erase(it);
    verdict.reason = "the session expired; log in again";
    return verdict;
  }
  const auto user = users_->by_name.find(it->second.user);
  if (user == users_->by_name.end()) {
    sessions_.erase(it);
    verdict.reason = "the session's user no longer exists";
    return verdict;
  }
  // A new password ends the sessions made with the old one: changing a password is how a user
  // (or an admin) throws out whoever else logged in with it.
  if (!digests_equal(sha256(user->second.hash), it->second.credential)) {
    sessions_.erase(it);
    verdict.reason = "the password changed since this session began; log in again";
    return verdict;
  }
  verdict.principal = Principal{user->second.name, user->second.namespaces};
  return verdict;
}

Authenticator::Verdict Authenticator::check_at_once(const Presented& presented, const std::string& address) {
  Verdict verdict;
  switch (presented.kind) {
    case Kind::none:
      verdict.reason =
          "no credentials: send a session cookie, Authorization: Bearer or Basic, or X-USERNAME and X-PASSWORD";
      break;
    case Kind::malformed:
      verdict.retry_after = blocked_for({"address " + address});
      if (verdict.retry_after.count() == 0) {
        record_failure({"address " + address});
      }
      verdict.reason = presented.problem;
      break;
    case Kind::session:
      verdict = check_session(presented.secret);
      break;
    case Kind::bearer:
      verdict = check_token(presented.secret, address);
      break;
    case Kind::basic:
    case Kind::headers:
      // A bug in this file: the callers send passwords to check_password(_async).
      throw std::logic_error("check_at_once given a password");
  }
  return verdict;
}

std::variant<Principal, http::Response> Authenticator::authenticate(const http::Request& request,
                                                                    const http::RequestInfo& info) {
  maybe_reload();
  const auto presented = presented_credentials(request);
  const auto address = address_of(info);
  auto verdict = is_password(presented.kind) ? check_password(presented.user, presented.secret, address)
                                             : check_at_once(presented, address);
  return decide(request, presented, address, std::move(verdict));
}

boost::asio::awaitable<std::variant<Principal, http::Response>> Authenticator::authenticate_async(
    const http::Request& request, const http::RequestInfo& info) {
  co_await maybe_reload_async();
  auto presented = presented_credentials(request);
  const auto address = address_of(info);
  Verdict verdict;
  if (is_password(presented.kind)) {
    verdict = co_await check_password_async(presented.user, std::move(presented.secret), address);
  } else {
    verdict = check_at_once(presented, address);
  }
  co_return decide(request, presented, address, std::move(verdict));
}

std::variant<Principal, http::Response> Authenticator::decide(const http::Request& request, const Presented& presented,
                                                              const std::string& address, Verdict verdict) {
  const auto kind = presented.kind;
  if (verdict.principal) {
    ++stats_.successes;
    spdlog::debug("auth: {} accepted for \"{}\" from {}", kind_name(kind), verdict.principal->user, address);
    return std::move(*verdict.principal);
  }
  if (verdict.busy) {
    spdlog::debug("auth: {} from {} refused: the hashing queue is full", kind_name(kind), address);
    auto response = error_response(request, bhttp::status::service_unavailable, "busy", verdict.reason);
    response.set(bhttp::field::retry_after, std::to_string(verdict.retry_after.count()));
    return response;
  }
  if (verdict.retry_after.count() > 0) {
    ++stats_.rate_limited;
    spdlog::debug("auth: {} from {} refused: rate-limited", kind_name(kind), address);
    auto response = error_response(
        request, bhttp::status::too_many_requests, "too many failed attempts",
        "too many failed authentication attempts; retry in " + std::to_string(verdict.retry_after.count()) + " s");
    response.set(bhttp::field::retry_after, std::to_string(verdict.retry_after.count()));
    return response;
  }
  if (kind == Kind::none || kind == Kind::session) {
    ++stats_.missing;
  } else {
    const std::string who =
        is_password(kind) || !presented.user.empty() ? " for user \"" + loggable(presented.user) + "\"" : std::string();
    spdlog::warn("auth: {}{} from {} failed: {}", kind_name(kind), who, address, verdict.reason);
  }
  auto response = error_response(request, bhttp::status::unauthorized, "unauthorized", verdict.reason);
  // A browser answers a Basic challenge with its own password dialog; pages that fetch the API
  // (and say so with X-Requested-With) get only the Bearer challenge and show their login form.
  if (request.find("X-Requested-With") == request.end()) {
    response.insert(bhttp::field::www_authenticate, "Basic realm=\"nodepack\", charset=\"UTF-8\"");
  }
  response.insert(bhttp::field::www_authenticate, "Bearer realm=\"nodepack\"");
  return response;
}

LoginResult Authenticator::login(std::string_view user, std::string_view password, const http::RequestInfo& info) {
  maybe_reload();
  const auto address = address_of(info);
  return login_outcome(user, address, check_password(user, password, address));
}

boost::asio::awaitable<LoginResult> Authenticator::login_async(std::string user, std::string password,
                                                               http::RequestInfo info) {
  co_await maybe_reload_async();
  const auto address = address_of(info);
  auto verdict = co_await check_password_async(user, std::move(password), address);
  co_return login_outcome(user, address, std::move(verdict));
}

LoginResult Authenticator::login_outcome(std::string_view user, const std::string& address, Verdict verdict) {
  if (verdict.busy) {
    return LoginRefusal{"the server is checking too many passwords at once; try again in " +
                            std::to_string(verdict.retry_after.count()) + " s",
                        verdict.retry_after, true};
  }
  if (verdict.retry_after.count() > 0) {
    ++stats_.rate_limited;
    return LoginRefusal{"too many failed attempts; try again in " + std::to_string(verdict.retry_after.count()) + " s",
                        verdict.retry_after};
  }
  if (!verdict.principal) {
    spdlog::warn("auth: login for user \"{}\" from {} failed: {}", loggable(user), address, verdict.reason);
    return LoginRefusal{verdict.reason, std::chrono::seconds{0}};
  }
  ++stats_.successes;
  spdlog::info("auth: user \"{}\" logged in from {}", verdict.principal->user, address);
  // In place: a string could also build a LoginRefusal (an aggregate), so the value is named.
  return LoginResult(boost::system::in_place_value, new_session(verdict.principal->user, verdict.hash));
}

std::string Authenticator::new_session(const std::string& user, const std::string& hash) {
  auto token = random_token();
  const auto now = clock_.steady_now();
  std::lock_guard lock(mutex_);
  if (sessions_.size() >= options_.max_sessions) {
    std::erase_if(sessions_, [now](const auto& item) { return item.second.expires <= now; });
    if (sessions_.size() >= options_.max_sessions && !sessions_.empty()) {
      sessions_.erase(std::min_element(sessions_.begin(), sessions_.end(), [](const auto& a, const auto& b) {
        return a.second.expires < b.second.expires;
      }));
    }
  }
  sessions_[key_of(sha256(token))] = Session{user, sha256(hash), now + options_.session_lifetime};
  return token;
}

void Authenticator::logout(std::string_view session_token) {
  std::lock_guard lock(mutex_);
  sessions_.erase(key_of(sha256(session_token)));
}

std::size_t Authenticator::session_count() const {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

std::size_t Authenticator::user_count() const {
  std::lock_guard lock(mutex_);
  return users_->by_name.size();
}

std::size_t Authenticator::token_count() const {
  std::lock_guard lock(mutex_);
  return tokens_->size();
}

}  // namespace nodepack::auth
