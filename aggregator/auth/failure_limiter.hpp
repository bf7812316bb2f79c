#pragma once

// Failed-attempt limits for authentication: at most `max_failures` failures per key (a remote
// address, a user name) in any sliding window of `window`; a key at the limit is blocked until its
// oldest failure leaves the window. Successes are never counted. Not thread-safe: the
// Authenticator holds its lock around every call.

#include <chrono>
#include <cstddef>
#include <string>
#include <unordered_map>
#include <vector>

namespace nodepack::auth {

struct RateLimitOptions {
  std::size_t max_failures = 5;  // 0: no limit
  std::chrono::seconds window{60};
  // Keys remembered at most; beyond that (after dropping keys with no recent failure) new keys are
  // not tracked, so a flood of made-up user names cannot exhaust memory. Per-address limits still
  // apply to such a flood.
  std::size_t max_keys = 100'000;
};

class FailureLimiter {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  explicit FailureLimiter(RateLimitOptions options) : options_(options) {}

  // Zero when `key` may try now; otherwise how long until it may (rounded up to whole seconds,
  // at least one, as Retry-After needs).
  std::chrono::seconds blocked_for(const std::string& key, TimePoint now);
  void record_failure(const std::string& key, TimePoint now);
  std::size_t tracked_keys() const { return failures_.size(); }

 private:
  void forget_old(std::vector<TimePoint>& times, TimePoint now) const;
  void sweep(TimePoint now);

  RateLimitOptions options_;
  std::unordered_map<std::string, std::vector<TimePoint>> failures_;
};

}  // namespace nodepack::auth
