#pragma once

// A time integral kept exactly: rate × time summed in integers, so splitting an interval at every
// scrape or pod event adds up to the same total as one long interval (a month of increase() is
// then exact, not a sum of rounded pieces).

#include "kube/quantity.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nodepack::agent::accounting {

using kube::Int128;

class ExactIntegral {
 public:
  // One unit-second in the integrand's base: nano-units × nanoseconds.
  static constexpr std::int64_t unit_second = 1'000'000'000'000'000'000;

  // Adds rate × dt. `rate_nanos` is the rate in nano-units (a Quantity's nanos()); negative rates
  // and durations add nothing (a clock that stepped back must not take usage away).
  void add(Int128 rate_nanos, std::chrono::nanoseconds dt);
  // Adds an already multiplied amount in nano-unit-nanoseconds (>= 0).
  void add_raw(Int128 amount);

  // Unit-seconds (core-seconds, byte-seconds, GPU-seconds), for exposition only.
  double value() const;
  Int128 whole() const { return whole_; }
  std::int64_t fraction() const { return fraction_; }  // in 1e-18 unit-seconds, [0, 1e18)

  // Exact decimal text with 18 fractional digits, e.g. "150.000000000000000000".
  std::string to_string() const;
  static std::optional<ExactIntegral> parse(std::string_view text);

  friend bool operator==(const ExactIntegral&, const ExactIntegral&) = default;

 private:
  Int128 whole_ = 0;           // whole unit-seconds
  std::int64_t fraction_ = 0;  // the rest, always below unit_second
};

}  // namespace nodepack::agent::accounting
