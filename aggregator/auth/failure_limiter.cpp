#include "aggregator/auth/failure_limiter.hpp"

#include <algorithm>
#include <iterator>

namespace nodepack::auth {

void FailureLimiter::forget_old(std::vector<TimePoint>& times, TimePoint now) const {
  const auto recent = std::find_if(times.begin(), times.end(), [&](TimePoint t) { return t + options_.window > now; });
  times.erase(times.begin(), recent);
}

std::chrono::seconds FailureLimiter::blocked_for(const std::string& key, TimePoint now) {
  if (options_.max_failures == 0) {
    return std::chrono::seconds(0);  // limiting switched off
  }
  const auto it = failures_.find(key);
  if (it == failures_.end()) {
    return std::chrono::seconds(0);
  }
  auto& times = it->second;
  forget_old(times, now);
  if (times.empty()) {
    failures_.erase(it);
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
    if (failures_.size() >= options_.max_keys) {
      sweep(now);
      if (failures_.size() >= options_.max_keys) {
        return;
      }
    }
    it = failures_.emplace(key, std::vector<TimePoint>{}).first;
  }
  auto& times = it->second;
  forget_old(times, now);
  times.push_back(now);
  // Only the newest max_failures matter for blocking.
  if (times.size() > options_.max_failures) {
    times.erase(times.begin(), times.end() - static_cast<std::ptrdiff_t>(options_.max_failures));
  }
}

void FailureLimiter::sweep(TimePoint now) {
  for (auto it = failures_.begin(); it != failures_.end();) {
    forget_old(it->second, now);
    it = it->second.empty() ? failures_.erase(it) : std::next(it);
  }
}

}  // namespace nodepack::auth
