// The failure limiter: the sliding window per key, and its memory bound, which forgets the least
// recently failed keys and never stops counting new ones.

#include "aggregator/auth/failure_limiter.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace nodepack::auth;
using namespace std::chrono_literals;

TEST_CASE("the failure limiter blocks a key for the rest of its window") {
  FailureLimiter limiter({5, 60s, 100});
  const std::chrono::steady_clock::time_point t0{};
  for (int i = 0; i < 4; ++i) {
    limiter.record_failure("a", t0 + std::chrono::seconds(i));
    CHECK(limiter.blocked_for("a", t0 + std::chrono::seconds(i)) == 0s);
  }
  limiter.record_failure("a", t0 + 4s);  // failures at 0, 1, 2, 3, 4 s
  CHECK(limiter.blocked_for("a", t0 + 4s) == 56s);
  CHECK(limiter.blocked_for("b", t0 + 4s) == 0s);
  CHECK(limiter.blocked_for("a", t0 + 59500ms) == 1s);  // rounded up
  CHECK(limiter.blocked_for("a", t0 + 60s) == 0s);      // the failure at 0 s left the window
  limiter.record_failure("a", t0 + 60s);                // 1, 2, 3, 4, 60: blocked until 61
  CHECK(limiter.blocked_for("a", t0 + 60s) == 1s);
  CHECK(limiter.blocked_for("a", t0 + 61s) == 0s);
  CHECK(limiter.blocked_for("a", t0 + 200s) == 0s);
  CHECK(limiter.tracked_keys() == 0);  // forgotten once nothing is recent

  // A flood of new keys is bounded by max_keys; keys with nothing left in the window go first.
  for (int i = 0; i < 150; ++i) {
    limiter.record_failure("k" + std::to_string(i), t0 + 300s);
  }
  CHECK(limiter.tracked_keys() == 100);
  limiter.record_failure("late", t0 + 400s);
  CHECK(limiter.tracked_keys() == 1);
}

TEST_CASE("past max_keys others, a new key is still counted and blocked") {
  // The default bound: a spray from many addresses over many made-up user names fills it.
  const RateLimitOptions options;
  REQUIRE(options.max_keys == 100'000);
  FailureLimiter limiter(options);
  const std::chrono::steady_clock::time_point t0{};
  for (std::size_t i = 0; i < options.max_keys; ++i) {
    limiter.record_failure("user \"spray-" + std::to_string(i) + "\"", t0 + 1s);
  }
  CHECK(limiter.tracked_keys() == options.max_keys);
  // Every one of them still in the window: room is made by forgetting the least recent.
  for (int i = 0; i < 5; ++i) {
    limiter.record_failure("user \"alice\"", t0 + 2s);
  }
  CHECK(limiter.blocked_for("user \"alice\"", t0 + 2s) == 60s);
  CHECK(limiter.tracked_keys() == options.max_keys);
  CHECK(limiter.blocked_for("user \"spray-0\"", t0 + 2s) == 0s);  // forgotten
}

TEST_CASE("the key forgotten to make room is the least recently failed one") {
  FailureLimiter limiter({2, 60s, 3});
  const std::chrono::steady_clock::time_point t0{};
  limiter.record_failure("a", t0);
  limiter.record_failure("b", t0 + 1s);
  limiter.record_failure("c", t0 + 2s);
  // a fails again: now b is the least recent, and a is blocked.
  limiter.record_failure("a", t0 + 3s);
  CHECK(limiter.blocked_for("a", t0 + 3s) == 57s);
  limiter.record_failure("d", t0 + 4s);
  CHECK(limiter.tracked_keys() == 3);
  CHECK(limiter.blocked_for("a", t0 + 4s) == 56s);  // kept: failed recently
  limiter.record_failure("b", t0 + 5s);             // b was forgotten: this is its first failure again
  CHECK(limiter.blocked_for("b", t0 + 5s) == 0s);
  limiter.record_failure("b", t0 + 6s);
  CHECK(limiter.blocked_for("b", t0 + 6s) == 60s - 1s);
}
