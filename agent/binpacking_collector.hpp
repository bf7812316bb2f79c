#pragma once

// kube-binpacking-exporter's node metrics for this agent's node, read from totals the pod store
// keeps up to date on every event: a scrape does no summing and no API calls.

#include "agent/node_state.hpp"
#include "common/clock.hpp"
#include "kube/reflector.hpp"

#include <prometheus/collectable.h>

#include <functional>
#include <string>
#include <vector>

namespace nodepack::agent {

class BinpackingCollector final : public prometheus::Collectable {
 public:
  BinpackingCollector(const NodeState& state, std::vector<std::string> resources, bool node_metrics,
                      std::function<std::vector<kube::ReflectorStatus>()> watch_status, const Clock& clock,
                      std::chrono::system_clock::time_point started);

  std::vector<prometheus::MetricFamily> Collect() const override;

  // Seconds since the stalest watch last heard from the API server (list, event or bookmark);
  // before every watch has synced, seconds since start.
  double cache_age_seconds() const;

 private:
  const NodeState& state_;
  std::vector<std::string> resources_;
  bool node_metrics_;
  std::function<std::vector<kube::ReflectorStatus>()> watch_status_;
  const Clock& clock_;
  std::chrono::system_clock::time_point started_;
};

// The ratio KBE exports: 0 when the denominator is 0.
double ratio(double numerator, double denominator);

}  // namespace nodepack::agent
