#pragma once

// Every node's latest topology block and the rate of each of its edges, from the counter deltas
// between two pulls of the same node (like Prometheus' rate()): a counter that went down means
// the agent restarted, so its new value is the whole increase; an edge seen for the first time
// has no rate yet (one sample says nothing about a rate). Rates are per second of the
// aggregator's clock between the two pulls. Work thread only, like the Inventory that feeds it.

#include "aggregator/report.hpp"
#include "aggregator/topology_block.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace nodepack::aggregator {

struct EdgeRate {
  double connections_per_second = 0;
  double failures_per_second = 0;
  bool known = false;  // false on an edge's first sample
};

struct TopologySample {
  std::shared_ptr<const NodeTopology> topology;
  std::chrono::system_clock::time_point at;
  std::vector<EdgeRate> rates;  // one per topology->edges
};

class TopologyRates {
 public:
  // A good report of `node` pulled at `at`. Its block replaces the node's last one (no block: the
  // node drops out of the graph); a bad block is logged once per change of its error.
  void record(const std::string& node, const NodeReport& report, std::chrono::system_clock::time_point at);
  // The agent answered 304: its counters did not move since the last sample.
  void confirm(const std::string& node, std::chrono::system_clock::time_point at);
  void forget(const std::string& node);

  const std::unordered_map<std::string, TopologySample>& samples() const { return samples_; }
  // Goes up whenever samples() changes, so the graph is rebuilt only then.
  std::uint64_t version() const { return version_; }

 private:
  void sample(const std::string& node, std::shared_ptr<const NodeTopology> topology,
              std::chrono::system_clock::time_point at);

  std::unordered_map<std::string, TopologySample> samples_;
  std::unordered_map<std::string, std::string> errors_;  // node -> its block's last error
  std::uint64_t version_ = 0;
};

}  // namespace nodepack::aggregator
