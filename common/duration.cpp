#include "common/duration.hpp"

#include <cmath>

namespace nodepack {

Result<std::chrono::nanoseconds> parse_go_duration(std::string_view text) {
  const std::string original(text);
  if (text.empty()) {
    return fail("empty duration");
  }
  if (text == "0") {
    return std::chrono::nanoseconds(0);
  }
  long double total = 0;
  while (!text.empty()) {
    std::size_t i = 0;
    while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) {
      ++i;
    }
    if (i == 0) {
      return fail("invalid duration \"" + original + "\"");
    }
    const std::string number(text.substr(0, i));
    if (number == "." || number.find('.') != number.rfind('.')) {
      return fail("invalid duration \"" + original + "\"");
    }
    text.remove_prefix(i);
    std::size_t j = 0;
    while (j < text.size() && !((text[j] >= '0' && text[j] <= '9') || text[j] == '.')) {
      ++j;
    }
    const std::string_view unit = text.substr(0, j);
    text.remove_prefix(j);
    long double scale = 0;
    if (unit == "ns") {
      scale = 1;
    } else if (unit == "us" || unit == "µs") {
      scale = 1e3L;
    } else if (unit == "ms") {
      scale = 1e6L;
    } else if (unit == "s") {
      scale = 1e9L;
    } else if (unit == "m") {
      scale = 60e9L;
    } else if (unit == "h") {
      scale = 3600e9L;
    } else {
      return fail("invalid duration \"" + original +
                  "\": " + (unit.empty() ? "missing unit" : "unknown unit \"" + std::string(unit) + "\""));
    }
    total += std::stold(number) * scale;
  }
  if (total > 9.2e18L) {
    return fail("duration \"" + original + "\" is too large");
  }
  return std::chrono::nanoseconds(static_cast<std::int64_t>(std::llround(total)));
}

std::string format_go_duration(std::chrono::nanoseconds d) {
  using namespace std::chrono;
  if (d == nanoseconds(0)) {
    return "0s";
  }
  std::string out;
  auto rest = d;
  if (rest < nanoseconds(0)) {
    out = "-";
    rest = -rest;
  }
  if (rest < seconds(1)) {
    if (rest < microseconds(1)) {
      return out + std::to_string(rest.count()) + "ns";
    }
    if (rest < milliseconds(1)) {
      return out + std::to_string(static_cast<double>(rest.count()) / 1e3) + "µs";
    }
    const auto ms = rest.count() / 1'000'000;
    const auto frac = rest.count() % 1'000'000;
    std::string f = frac ? "." + std::to_string(1'000'000 + frac).substr(1) : "";
    while (!f.empty() && f.back() == '0') {
      f.pop_back();
    }
    return out + std::to_string(ms) + f + "ms";
  }
  const auto h = duration_cast<hours>(rest);
  rest -= h;
  const auto m = duration_cast<minutes>(rest);
  rest -= m;
  const auto s = rest.count() / 1'000'000'000;
  const auto frac = rest.count() % 1'000'000'000;
  std::string secs = std::to_string(s);
  if (frac) {
    std::string f = std::to_string(1'000'000'000 + frac).substr(1);
    while (!f.empty() && f.back() == '0') {
      f.pop_back();
    }
    secs += "." + f;
  }
  if (h.count() > 0) {
    out += std::to_string(h.count()) + "h";
  }
  if (h.count() > 0 || m.count() > 0) {
    out += std::to_string(m.count()) + "m";
  }
  return out + secs + "s";
}

}  // namespace nodepack
