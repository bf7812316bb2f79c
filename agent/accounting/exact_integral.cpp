#include "agent/accounting/exact_integral.hpp"

#include <charconv>

namespace nodepack::agent::accounting {

void ExactIntegral::add(Int128 rate_nanos, std::chrono::nanoseconds dt) {
  if (rate_nanos <= 0 || dt.count() <= 0) {
    return;
  }
  // 1 TiB for a year is about 3.5e37 nano-byte-nanoseconds, below 2^127 (1.7e38); the running
  // total is folded into whole unit-seconds at once so it never accumulates towards that bound.
  add_raw(rate_nanos * Int128{dt.count()});
}

void ExactIntegral::add_raw(Int128 amount) {
  if (amount <= 0) {
    return;
  }
  const Int128 total = amount + Int128{fraction_};
  whole_ += total / unit_second;
  fraction_ = static_cast<std::int64_t>(total % unit_second);
}

double ExactIntegral::value() const {
  return static_cast<double>(whole_) + static_cast<double>(fraction_) / static_cast<double>(unit_second);
}

std::string ExactIntegral::to_string() const {
  std::string frac = std::to_string(fraction_);
  return kube::int128_to_string(whole_) + "." + std::string(18 - frac.size(), '0') + frac;
}

std::optional<ExactIntegral> ExactIntegral::parse(std::string_view text) {
  const auto dot = text.find('.');
  if (dot == std::string_view::npos || dot == 0 || text.size() - dot - 1 != 18) {
    return std::nullopt;
  }
  Int128 whole = 0;
  for (char c : text.substr(0, dot)) {
    if (c < '0' || c > '9' || whole > (Int128{1} << 100)) {
      return std::nullopt;
    }
    whole = whole * 10 + (c - '0');
  }
  std::int64_t fraction = 0;
  const auto digits = text.substr(dot + 1);
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), fraction);
  if (ec != std::errc{} || ptr != digits.data() + digits.size() || fraction < 0 || digits.front() == '-' ||
      digits.front() == '+') {
    return std::nullopt;
  }
  ExactIntegral out;
  out.whole_ = whole;
  out.fraction_ = fraction;
  return out;
}

}  // namespace nodepack::agent::accounting
