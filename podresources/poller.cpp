#include "podresources/poller.hpp"

#include <algorithm>

namespace nodepack::podresources {

Poller::Poller(PollerOptions options, const Clock& clock, Callback callback)
    : options_(std::move(options)), clock_(clock), callback_(std::move(callback)), client_(options_.client) {}

Poller::~Poller() { stop(); }

void Poller::start() {
  std::lock_guard lock(mu_);
  if (!thread_.joinable() && !stopping_) {
    thread_ = std::thread([this] { run(); });
  }
}

void Poller::nudge() {
  {
    std::lock_guard lock(mu_);
    ++nudges_;
  }
  cv_.notify_all();
}

void Poller::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

std::uint64_t Poller::polls() const {
  std::lock_guard lock(mu_);
  return polls_;
}

void Poller::run() {
  using steady = std::chrono::steady_clock;
  auto retry = options_.min_gap;  // after a failure; doubles up to the interval
  for (;;) {
    std::uint64_t seen = 0;  // nudges this poll answers; a later one asks for another
    {
      std::lock_guard lock(mu_);
      seen = nudges_;
    }
    auto result = client_.ask(clock_.now());
    const steady::time_point polled = steady::now();
    std::chrono::milliseconds wait = options_.interval;
    const bool answered = result.has_value();
    if (!result && result.error().reason != numa::PodResourcesError::rate_limited) {
      wait = std::min(retry, options_.interval);
      retry = std::min(retry * 2, options_.interval);
    } else {
      retry = options_.min_gap;
    }
    callback_(std::move(result));

    std::unique_lock lock(mu_);
    ++polls_;
    cv_.wait_until(lock, polled + wait, [&] { return stopping_ || (answered && nudges_ != seen); });
    if (!stopping_ && answered && nudges_ != seen) {
      cv_.wait_until(lock, polled + options_.min_gap, [&] { return stopping_; });
    }
    if (stopping_) {
      return;
    }
  }
}

}  // namespace nodepack::podresources
