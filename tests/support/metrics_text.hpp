#pragma once

// Reads Prometheus text exposition into series -> value, keyed by the series exactly as written
// (`name{label="v",...}`), so tests assert on values rather than on substrings.

#include <cstdlib>
#include <map>
#include <optional>
#include <sstream>
#include <string>

namespace nodepack::testing {

inline std::map<std::string, double> parse_metrics(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') {
      continue;
    }
    const auto space = line.rfind(' ');
    if (space == std::string::npos) {
      continue;
    }
    out[line.substr(0, space)] = std::strtod(line.c_str() + space + 1, nullptr);
  }
  return out;
}

inline std::optional<double> metric(const std::map<std::string, double>& m, const std::string& series) {
  auto it = m.find(series);
  return it == m.end() ? std::nullopt : std::optional<double>(it->second);
}

}  // namespace nodepack::testing
