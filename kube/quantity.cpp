#include "kube/quantity.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>

namespace nodepack::kube {
namespace {

__extension__ typedef unsigned __int128 Uint128;

constexpr std::int64_t kNanosPerUnit = 1'000'000'000;
constexpr std::int64_t kNanosPerMilli = 1'000'000;
// apimachinery caps DecimalSI and BinarySI quantities at 2^63-1 units; anything larger cannot have
// come from an API server, so we refuse it rather than silently capping.
constexpr Uint128 kMaxNanos = Uint128{static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())} *
                              static_cast<std::uint64_t>(kNanosPerUnit);
// kMaxNanos has 28 decimal digits, so any integer with more digits is out of range.
constexpr int kMaxNanosDigits = 28;
// Exponents beyond this cannot change the outcome (overflow, or a sub-nano value that rounds to 1n)
// and clamping keeps every exponent sum far from int overflow.
constexpr std::int64_t kExponentClamp = 1'000'000;
// The fast path keeps the significand in a uint64 (< 1e18 < 2^60); times 2^60 it stays < 2^120.
constexpr std::size_t kFastDigits = 18;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

Error bad(std::string_view text, std::string_view why) {
  std::string message = "invalid quantity \"";
  message.append(text);
  message += "\": ";
  message.append(why);
  return fail(std::move(message));
}

struct Suffix {
  std::int64_t decimal_exponent = 0;
  unsigned binary_exponent = 0;
};

// The exponent after 'e'/'E': an optional sign then at least one digit, nothing else.
bool parse_exponent(std::string_view s, std::int64_t& out) {
  bool negative = false;
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    negative = s[i] == '-';
    ++i;
  }
  if (i == s.size()) {
    return false;
  }
  std::int64_t value = 0;
  for (; i < s.size(); ++i) {
    if (!is_digit(s[i])) {
      return false;
    }
    value = std::min<std::int64_t>(value * 10 + (s[i] - '0'), kExponentClamp);
  }
  out = negative ? -value : value;
  return true;
}

struct NamedSuffix {
  std::string_view text;
  Suffix value;
};

constexpr NamedSuffix kNamedSuffixes[] = {
    {"", {0, 0}},    {"n", {-9, 0}},  {"u", {-6, 0}},  {"m", {-3, 0}},  {"k", {3, 0}},   {"M", {6, 0}},
    {"G", {9, 0}},   {"T", {12, 0}},  {"P", {15, 0}},  {"E", {18, 0}},  {"Ki", {0, 10}}, {"Mi", {0, 20}},
    {"Gi", {0, 30}}, {"Ti", {0, 40}}, {"Pi", {0, 50}}, {"Ei", {0, 60}},
};

bool interpret_suffix(std::string_view s, Suffix& out) {
  for (const NamedSuffix& named : kNamedSuffixes) {
    if (s == named.text) {
      out = named.value;
      return true;
    }
  }
  // A lone "E" is exa (handled above); "e3", "E-3", "e+3" are decimal exponents.
  if (s[0] == 'e' || s[0] == 'E') {
    return parse_exponent(s.substr(1), out.decimal_exponent);
  }
  return false;
}

Uint128 pow10(int k) {
  Uint128 p = 1;
  for (int i = 0; i < k; ++i) {
    p *= 10;
  }
  return p;
}

// Integer digits (no sign) to a value, or false when it exceeds kMaxNanos.
bool digits_to_nanos(std::string_view digits, std::int64_t trailing_zeros, Uint128& out) {
  if (static_cast<std::int64_t>(digits.size()) + trailing_zeros > kMaxNanosDigits) {
    return false;
  }
  Uint128 v = 0;
  for (char c : digits) {
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  for (std::int64_t i = 0; i < trailing_zeros; ++i) {
    v *= 10;
  }
  if (v > kMaxNanos) {
    return false;
  }
  out = v;
  return true;
}

// ceil(significand * 2^binary * 10^scale10) for a significand with more digits than a uint64
// holds. Rare (only hand-written input has that many digits), so it works on decimal text.
bool slow_magnitude(std::string digits, unsigned binary, std::int64_t scale10, Uint128& out) {
  for (unsigned b = 0; b < binary; ++b) {
    int carry = 0;
    for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
      int d = (*it - '0') * 2 + carry;
      *it = static_cast<char>('0' + d % 10);
      carry = d / 10;
    }
    if (carry != 0) {
      digits.insert(digits.begin(), static_cast<char>('0' + carry));
    }
  }
  if (scale10 >= 0) {
    return digits_to_nanos(digits, scale10, out);
  }
  const std::int64_t drop = -scale10;
  const std::int64_t keep = static_cast<std::int64_t>(digits.size()) - drop;
  if (keep <= 0) {
    out = 1;  // Non-zero and below 1n: rounds up to the smallest quantity.
    return true;
  }
  const std::string_view all(digits);
  Uint128 v = 0;
  if (!digits_to_nanos(all.substr(0, static_cast<std::size_t>(keep)), 0, v)) {
    return false;
  }
  const std::string_view rest = all.substr(static_cast<std::size_t>(keep));
  if (rest.find_first_not_of('0') != std::string_view::npos) {
    ++v;
  }
  if (v > kMaxNanos) {
    return false;
  }
  out = v;
  return true;
}

// ceil(significand * 2^binary * 10^scale10) for a significand below 1e18.
bool fast_magnitude(std::uint64_t significand, unsigned binary, std::int64_t scale10, Uint128& out) {
  Uint128 v = Uint128{significand} << binary;
  if (scale10 >= 0) {
    for (std::int64_t i = 0; i < scale10; ++i) {
      if (v > kMaxNanos / 10) {
        return false;
      }
      v *= 10;
    }
    if (v > kMaxNanos) {
      return false;
    }
    out = v;
    return true;
  }
  // v < 2^120 < 1e37, so dividing by 1e37 or more leaves a non-zero fraction below one nano.
  if (scale10 <= -37) {
    out = 1;
    return true;
  }
  const Uint128 p = pow10(static_cast<int>(-scale10));
  Uint128 q = v / p;
  if (v % p != 0) {
    ++q;
  }
  if (q > kMaxNanos) {
    return false;
  }
  out = q;
  return true;
}

Int128 ceil_div(Int128 n, Int128 d) {
  Int128 q = n / d;  // truncates toward zero, which is already the ceiling for negatives
  if (n % d != 0 && n > 0) {
    ++q;
  }
  return q;
}

std::int64_t saturate(Int128 v) {
  if (v > std::numeric_limits<std::int64_t>::max()) {
    return std::numeric_limits<std::int64_t>::max();
  }
  if (v < std::numeric_limits<std::int64_t>::min()) {
    return std::numeric_limits<std::int64_t>::min();
  }
  return static_cast<std::int64_t>(v);
}

}  // namespace

Result<Quantity> Quantity::parse(std::string_view text) {
  if (text.empty()) {
    return bad(text, "empty");
  }
  std::size_t pos = 0;
  bool negative = false;
  if (text[0] == '+' || text[0] == '-') {
    negative = text[0] == '-';
    ++pos;
  }
  const std::size_t num_begin = pos;
  while (pos < text.size() && is_digit(text[pos])) {
    ++pos;
  }
  const std::string_view num = text.substr(num_begin, pos - num_begin);
  std::string_view denom;
  if (pos < text.size() && text[pos] == '.') {
    const std::size_t denom_begin = ++pos;
    while (pos < text.size() && is_digit(text[pos])) {
      ++pos;
    }
    denom = text.substr(denom_begin, pos - denom_begin);
  }
  if (num.empty() && denom.empty()) {
    return bad(text, "expected a number");
  }
  Suffix suffix;
  if (!interpret_suffix(text.substr(pos), suffix)) {
    std::string why = "unknown suffix \"";
    why.append(text.substr(pos));
    why += "\" (want n, u, m, k, M, G, T, P, E, Ki..Ei or an exponent like e3)";
    return bad(text, why);
  }

  // The significand is num followed by denom, without leading zeros; its trailing zeros move into
  // the exponent so that "1000000000000000000000k" stays on the fast path.
  std::uint64_t significand = 0;
  std::size_t significant_digits = 0;
  std::int64_t pending_zeros = 0;
  std::string long_digits;
  bool long_form = false;
  auto take = [&](char c) {
    if (c == '0') {
      if (significant_digits > 0) {
        ++pending_zeros;
      }
      return;
    }
    // Flush zeros that turned out to be inside the number.
    for (; pending_zeros > 0; --pending_zeros) {
      if (!long_form && significant_digits + 1 > kFastDigits) {
        long_form = true;
        long_digits = std::to_string(significand);
      }
      if (long_form) {
        long_digits += '0';
      } else {
        significand *= 10;
      }
      ++significant_digits;
    }
    if (!long_form && significant_digits + 1 > kFastDigits) {
      long_form = true;
      long_digits = std::to_string(significand);
    }
    if (long_form) {
      long_digits += c;
    } else {
      significand = significand * 10 + static_cast<std::uint64_t>(c - '0');
    }
    ++significant_digits;
  };
  for (char c : num) {
    take(c);
  }
  for (char c : denom) {
    take(c);
  }
  if (significant_digits == 0) {
    return Quantity();
  }
  const std::int64_t scale10 = suffix.decimal_exponent - static_cast<std::int64_t>(denom.size()) + 9 + pending_zeros;

  Uint128 magnitude = 0;
  const bool ok = long_form ? slow_magnitude(std::move(long_digits), suffix.binary_exponent, scale10, magnitude)
                            : fast_magnitude(significand, suffix.binary_exponent, scale10, magnitude);
  if (!ok) {
    return bad(text, "magnitude exceeds 9223372036854775807 units");
  }
  const Int128 nanos = static_cast<Int128>(magnitude);
  return Quantity(negative ? -nanos : nanos);
}

std::int64_t Quantity::milli_value_ceil() const { return saturate(ceil_div(nanos_, kNanosPerMilli)); }

std::int64_t Quantity::value_ceil() const { return saturate(ceil_div(nanos_, kNanosPerUnit)); }

double Quantity::as_double() const {
  // Split so that the whole part converts exactly for any realistic value.
  const Int128 units = nanos_ / kNanosPerUnit;
  const Int128 rest = nanos_ % kNanosPerUnit;
  return static_cast<double>(units) + static_cast<double>(rest) / static_cast<double>(kNanosPerUnit);
}

std::string Quantity::to_string() const {
  if (nanos_ % kNanosPerUnit == 0) {
    return int128_to_string(nanos_ / kNanosPerUnit);
  }
  if (nanos_ % kNanosPerMilli == 0) {
    return int128_to_string(nanos_ / kNanosPerMilli) + "m";
  }
  if (nanos_ % 1000 == 0) {
    return int128_to_string(nanos_ / 1000) + "u";
  }
  return int128_to_string(nanos_) + "n";
}

std::string int128_to_string(Int128 value) {
  // Work on the magnitude as unsigned so the most negative value does not overflow.
  const bool negative = value < 0;
  Uint128 magnitude = negative ? Uint128{0} - static_cast<Uint128>(value) : static_cast<Uint128>(value);
  char buffer[48];
  char* end = buffer + sizeof buffer;
  char* p = end;
  do {
    *--p = static_cast<char>('0' + static_cast<int>(magnitude % 10));
    magnitude /= 10;
  } while (magnitude != 0);
  if (negative) {
    *--p = '-';
  }
  return std::string(p, end);
}

}  // namespace nodepack::kube
