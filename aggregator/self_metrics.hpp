#pragma once

// The aggregator's own health: pulls and their errors by reason, report ages, round and snapshot
// build times. Written on the work thread and read by scrapes on the serving thread, so the
// values are atomics and thread-safe histograms, turned into families at each scrape.

#include "aggregator/report.hpp"
#include "metrics/histogram.hpp"

#include <prometheus/collectable.h>

#include <array>
#include <atomic>
#include <cstdint>

namespace nodepack::aggregator {

class SelfMetrics final : public prometheus::Collectable {
 public:
  SelfMetrics();

  void pull_ok(double report_age_seconds);
  // A pull the agent answered 304: its last report still holds (counted in pulls_total too).
  void pull_unchanged();
  void pull_failed(PullError reason);
  void round_done(double seconds, std::size_t targets, std::size_t open_connections);
  void snapshot_built(double seconds);
  // A good report's topology block: usable, absent (older agent, collector off) or invalid.
  enum class TopologyBlock { ok, absent, invalid };
  void topology_block(TopologyBlock outcome);

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::atomic<std::uint64_t> pulls_{0};
  std::atomic<std::uint64_t> unchanged_{0};
  std::array<std::atomic<std::uint64_t>, pull_error_count> errors_{};
  metrics::Histogram report_age_;
  metrics::Histogram round_duration_;
  std::atomic<std::uint64_t> rounds_{0};
  std::atomic<double> last_round_duration_{0};
  std::atomic<double> agents_{0};
  std::atomic<double> connections_{0};
  std::atomic<double> snapshot_build_{0};
  std::array<std::atomic<std::uint64_t>, 3> topology_blocks_{};
};

}  // namespace nodepack::aggregator
