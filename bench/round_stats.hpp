#pragma once

// Summaries of per-round figures, for the benches that print rounds side by side.

#include <algorithm>
#include <cmath>
#include <vector>

namespace nodepack::bench {

inline double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) {
    s += x;
  }
  return v.empty() ? 0.0 : s / static_cast<double>(v.size());
}

// Sample standard deviation (n - 1); 0 for fewer than two rounds.
inline double stddev(const std::vector<double>& v) {
  if (v.size() < 2) {
    return 0.0;
  }
  const double m = mean(v);
  double s = 0;
  for (double x : v) {
    s += (x - m) * (x - m);
  }
  return std::sqrt(s / static_cast<double>(v.size() - 1));
}

inline double median(std::vector<double> v) {
  if (v.empty()) {
    return 0.0;
  }
  std::sort(v.begin(), v.end());
  const auto mid = v.size() / 2;
  return v.size() % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

}  // namespace nodepack::bench
