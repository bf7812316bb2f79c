#include "aggregator/auth/failure_limiter.hpp"

#include <algorithm>
#include <iterator>

namespace nodepack::auth {

void FailureLimiter::forget_old(std::vector<TimePoint>& times, TimePoint now) const {
  const auto recent = std::find_if(times.begin(), times.end(), [&](TimePoint t) { return t + options_.window > now; });
  times.erase(times.begin(), recent);
}

void FailureLimiter::erase(std::unordered_map<std::string, Entry>::iterator it) {
  recency_.erase(it->second.by_recency);
  failures_.erase(it);
}

std::chrono::seconds FailureLimiter::blocked_for(const std::string& key, TimePoint now) {
  if (options_.max_failures == 0) {
    return std::chrono::seconds(0);  // limiting switched off
  }
  const auto it = failures_.find(key);
  if (it == failures_.end()) {
    return std::chrono::seconds(0);
  }
  auto& times = it->second.times;
  forget_old(times, now);
  if (times.empty()) {
    erase(it);
    return std::chrono::seconds(0);
  }
  if (times.size() < options_.max_failures) {
    return std::chrono::seconds(0);
  }
  // Blocked until the failure that would leave room drops out of the window.
  const auto until = times[times.size() - options_.max_failures] + options_.window;
  const auto wait = std::chrono::ceil<std::chrono::seconds>(until - now);
  return std::max(wait, std::chrono::seconds(1));
}

void FailureLimiter::record_failure(const std::string& key, TimePoint now) {
  if (options_.max_failures == 0) {
    return;
  }
  auto it = failures_.find(key);
  if (it == failures_.end()) {
    // recency_ is ordered by last failure, so the keys with nothing left in the window are at its
    // front: dropping them costs only what they cost to add.
    while (!recency_.empty()) {
      const auto oldest = failures_.find(recency_.front());
      if (oldest->second.times.back() + options_.window > now) {
        break;
      }
      erase(oldest);
    }
    // Still full: the least recently failed key goes. Under a flood of new keys that is the key
    // least likely to be blocked, and the new key is counted from its first failure.
    while (!failures_.empty() && failures_.size() >= std::max<std::size_t>(options_.max_keys, 1)) {
      erase(failures_.find(recency_.front()));
    }
    recency_.push_back(key);
    it = failures_.emplace(key, Entry{{}, std::prev(recency_.end())}).first;
  } else {
    recency_.splice(recency_.end(), recency_, it->second.by_recency);
  }
  auto& times = it->second.times;
  forget_old(times, now);
  times.push_back(now);
  // Only the newest max_failures matter for blocking.
  if (times.size() > options_.max_failures) {
    times.erase(times.begin(), times.end() - static_cast<std::ptrdiff_t>(options_.max_failures));
  }
}

}  // namespace nodepack::auth
