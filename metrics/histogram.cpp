#include "metrics/histogram.hpp"

#include <algorithm>
#include <limits>

namespace nodepack::metrics {

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value) {
  // Prometheus' buckets are "less than or equal": the first bound >= value.
  const auto slot = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
  std::lock_guard lock(mu_);
  ++counts_[slot];
  sum_ += value;
}

std::vector<Bucket> Histogram::buckets() const {
  std::vector<Bucket> out;
  out.reserve(counts_.size());
  std::lock_guard lock(mu_);
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    cumulative += counts_[i];
    out.push_back({i < bounds_.size() ? bounds_[i] : std::numeric_limits<double>::infinity(), cumulative});
  }
  return out;
}

double Histogram::sum() const {
  std::lock_guard lock(mu_);
  return sum_;
}

}  // namespace nodepack::metrics
