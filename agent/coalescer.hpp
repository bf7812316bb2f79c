#pragma once

// Runs a function after something changed, at most once per interval: a burst of pod events (a
// relist, a rollout) costs one cgroup walk or NUMA re-join, not one per event, and nothing runs
// while nothing changes (no polling).

#include "common/clock.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <optional>

namespace nodepack::agent {

class Coalescer {
 public:
  Coalescer(boost::asio::any_io_executor executor, const Clock& clock, std::chrono::milliseconds interval,
            std::function<void()> run);

  // From the executor's thread: run soon, but not sooner than `interval` after the last run.
  void notify();

 private:
  boost::asio::steady_timer timer_;
  const Clock& clock_;
  std::chrono::milliseconds interval_;
  std::function<void()> run_;
  bool armed_ = false;
  std::optional<std::chrono::steady_clock::time_point> last_run_;
};

}  // namespace nodepack::agent
