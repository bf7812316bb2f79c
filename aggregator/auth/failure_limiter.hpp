#pragma once

// Failed-attempt limits for authentication: at most `max_failures` failures per key (a remote
// address, a user name) in any sliding window of `window`; a key at the limit is blocked until its
// oldest failure leaves the window. Successes are never counted. Not thread-safe: the
// Authenticator holds its lock around every call.

#include <chrono>
#include <cstddef>
#include <list>
#include <string>
#include <unordered_map>
#include <vector>

namespace nodepack::auth {

struct RateLimitOptions {
  std::size_t max_failures = 5;  // 0: no limit
  std::chrono::seconds window{60};
  // Keys remembered at most, so a flood of made-up user names cannot exhaust memory. A new key
  // beyond it evicts the key whose last failure is the oldest: every new key is still counted,
  // and what is forgotten is what has failed least recently, usually long out of the window.
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
  struct Entry {
    std::vector<TimePoint> times;                 // at most max_failures, oldest first
    std::list<std::string>::iterator by_recency;  // its place in recency_
  };

  void forget_old(std::vector<TimePoint>& times, TimePoint now) const;
  void erase(std::unordered_map<std::string, Entry>::iterator it);

  RateLimitOptions options_;
  std::unordered_map<std::string, Entry> failures_;
  // Keys by their last failure, least recent first: the eviction order.
  std::list<std::string> recency_;
};

}  // namespace nodepack::auth
