#pragma once

// A histogram that is written while scrapes read it (the aggregator's pull-round timings):
// fixed bounds, observe() from any thread, buckets() for a Family::add_histogram at scrape time.

#include "metrics/family.hpp"

#include <mutex>
#include <vector>

namespace nodepack::metrics {

class Histogram {
 public:
  // `bounds` increasing; +Inf is added.
  explicit Histogram(std::vector<double> bounds);

  void observe(double value);
  // Cumulative, ending at +Inf.
  std::vector<Bucket> buckets() const;
  double sum() const;

 private:
  std::vector<double> bounds_;
  mutable std::mutex mu_;
  std::vector<std::uint64_t> counts_;  // per bucket, +Inf last; not cumulative
  double sum_ = 0;
};

}  // namespace nodepack::metrics
