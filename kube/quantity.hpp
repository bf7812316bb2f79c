#pragma once

// An exact Kubernetes resource.Quantity.
//
// The value is held as a signed 128-bit count of nano-units (1e-9). Every suffix Kubernetes
// accepts (n u m "" k M G T P E, Ki..Ei, decimal exponents) is an integer number of nano-units
// once rounded the way apimachinery rounds, so sums and comparisons are exact where doubles
// would drift (ten times 0.1 is exactly 1).

#include "common/result.hpp"

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

namespace nodepack::kube {

// GCC and Clang spell the 128-bit integer as an extension; naming it once keeps -Wpedantic quiet.
__extension__ typedef __int128 Int128;

class Quantity {
 public:
  // Zero.
  constexpr Quantity() = default;

  // Parses like apimachinery's ParseQuantity: optional sign, digits with at most one '.', then a
  // suffix (SI, binary or an e/E exponent). Fractions finer than 1n round away from zero, as
  // Kubernetes does. Stricter than apimachinery in two ways that only matter for hand-written
  // input: a number needs at least one digit ("-" and "." are errors, not zero), and a
  // magnitude above 2^63-1 units is an error instead of being capped.
  static Result<Quantity> parse(std::string_view text);

  static constexpr Quantity from_nanos(Int128 nanos) { return Quantity(nanos); }
  static constexpr Quantity from_milli(std::int64_t milli) { return Quantity(Int128{milli} * 1'000'000); }
  static constexpr Quantity from_units(std::int64_t units) { return Quantity(Int128{units} * 1'000'000'000); }

  constexpr Int128 nanos() const { return nanos_; }
  // ceil(value * 1000): what the scheduler compares for cpu. Saturates at the int64 range.
  std::int64_t milli_value_ceil() const;
  // ceil(value): whole units, what the scheduler compares for memory and every other resource.
  // Saturates at the int64 range.
  std::int64_t value_ceil() const;
  // For display and exposition only; never for arithmetic.
  double as_double() const;
  constexpr bool is_zero() const { return nanos_ == 0; }

  // Canonical, round-trippable text: a plain integer when the value is whole units, otherwise
  // the coarsest of m / u / n that is exact ("100m", "1500u", "-2n", "1073741824").
  std::string to_string() const;

  constexpr Quantity& operator+=(const Quantity& other) {
    nanos_ += other.nanos_;
    return *this;
  }
  constexpr Quantity& operator-=(const Quantity& other) {
    nanos_ -= other.nanos_;
    return *this;
  }
  friend constexpr Quantity operator+(Quantity a, const Quantity& b) { return a += b; }
  friend constexpr Quantity operator-(Quantity a, const Quantity& b) { return a -= b; }
  friend constexpr Quantity operator-(const Quantity& a) { return Quantity(-a.nanos_); }
  friend constexpr auto operator<=>(const Quantity&, const Quantity&) = default;
  friend constexpr bool operator==(const Quantity&, const Quantity&) = default;

 private:
  constexpr explicit Quantity(Int128 nanos) : nanos_(nanos) {}

  Int128 nanos_ = 0;
};

constexpr Quantity quantity_max(const Quantity& a, const Quantity& b) { return a < b ? b : a; }

// Decimal text of a 128-bit integer (std::to_chars has no overload for it).
std::string int128_to_string(Int128 value);

}  // namespace nodepack::kube
