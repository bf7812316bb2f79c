#pragma once

// Waits for something another thread makes true: polls `predicate` until it holds or `limit`
// has passed, and returns its last answer.

#include <chrono>
#include <thread>

namespace nodepack::testing {

template <class Predicate>
bool eventually(Predicate predicate, std::chrono::milliseconds limit = std::chrono::seconds(10),
                std::chrono::milliseconds step = std::chrono::milliseconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (predicate()) {
      return true;
    }
    std::this_thread::sleep_for(step);  // poll interval, not a wait for time to pass
  }
  return predicate();
}

}  // namespace nodepack::testing
