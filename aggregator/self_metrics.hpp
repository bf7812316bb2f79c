#pragma once

// The aggregator's own health: pulls and their errors by reason, report ages, round and snapshot
// build times. Counters and histograms live in a prometheus-cpp registry (thread-safe) because
// they are written on the work thread and read by scrapes on the serving thread.

#include "aggregator/report.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <memory>

namespace nodepack::aggregator {

class SelfMetrics {
 public:
  SelfMetrics();

  void pull_ok(double report_age_seconds);
  void pull_failed(PullError reason);
  void round_done(double seconds, std::size_t targets, std::size_t open_connections);
  void snapshot_built(double seconds);

  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Counter* pulls_ = nullptr;
  std::array<prometheus::Counter*, pull_error_count> errors_{};
  prometheus::Histogram* report_age_ = nullptr;
  prometheus::Histogram* round_duration_ = nullptr;
  prometheus::Counter* rounds_ = nullptr;
  prometheus::Gauge* last_round_duration_ = nullptr;
  prometheus::Gauge* agents_ = nullptr;
  prometheus::Gauge* connections_ = nullptr;
  prometheus::Gauge* snapshot_build_ = nullptr;
};

}  // namespace nodepack::aggregator
