#include "aggregator/topology_rates.hpp"

#include <spdlog/spdlog.h>

namespace nodepack::aggregator {
namespace {

// What identifies one edge between two samples of a node: everything but its counters.
std::string edge_key(const NodeTopology& t, const TopologyEdge& e) {
  std::string key;
  for (const auto index : {e.ns, e.workload, e.pod, e.peer_ns, e.peer_workload, e.protocol}) {
    key += t.name(index);
    key += '\x1f';  // a separator no Kubernetes name or CIDR contains
  }
  key += std::to_string(e.port);
  key += static_cast<char>('0' + static_cast<int>(e.direction));
  key += static_cast<char>('0' + static_cast<int>(e.peer_kind));
  return key;
}

// The increase of a cumulative counter; a decrease is a reset (the agent restarted) after which
// the counter counted up from zero.
double increase(std::uint64_t before, std::uint64_t now) {
  return static_cast<double>(now >= before ? now - before : now);
}

}  // namespace

void TopologyRates::record(const std::string& node, const NodeReport& report,
                           std::chrono::system_clock::time_point at) {
  if (!report.topology_error.empty()) {
    auto& last = errors_[node];
    if (last != report.topology_error) {
      spdlog::warn("node {}: the report's topology block is unusable, the rest of the report is used: {}", node,
                   report.topology_error);
      last = report.topology_error;
    }
  } else if (errors_.erase(node) > 0) {
    spdlog::info("node {}: the report's topology block is usable again", node);
  }
  sample(node, report.topology, at);
}

void TopologyRates::confirm(const std::string& node, std::chrono::system_clock::time_point at) {
  const auto it = samples_.find(node);
  if (it != samples_.end()) {
    auto topology = it->second.topology;  // the same counters, later: rates of zero
    sample(node, std::move(topology), at);
  }
}

void TopologyRates::forget(const std::string& node) {
  errors_.erase(node);
  if (samples_.erase(node) > 0) {
    ++version_;
  }
}

void TopologyRates::sample(const std::string& node, std::shared_ptr<const NodeTopology> topology,
                           std::chrono::system_clock::time_point at) {
  if (!topology) {
    forget(node);
    return;
  }
  TopologySample next{std::move(topology), at, {}};
  next.rates.resize(next.topology->edges.size());
  const auto previous = samples_.find(node);
  if (previous != samples_.end()) {
    const double seconds = std::chrono::duration<double>(at - previous->second.at).count();
    if (seconds <= 0) {
      return;  // no time passed on our clock: nothing to learn a rate from
    }
    const NodeTopology& before = *previous->second.topology;
    std::unordered_map<std::string, const TopologyEdge*> earlier;
    earlier.reserve(before.edges.size());
    for (const auto& e : before.edges) {
      earlier.emplace(edge_key(before, e), &e);
    }
    const NodeTopology& now = *next.topology;
    for (std::size_t i = 0; i < now.edges.size(); ++i) {
      const auto& e = now.edges[i];
      const auto match = earlier.find(edge_key(now, e));
      if (match == earlier.end()) {
        continue;
      }
      next.rates[i] = EdgeRate{increase(match->second->connections, e.connections) / seconds,
                               increase(match->second->failures, e.failures) / seconds, true};
    }
  }
  samples_[node] = std::move(next);
  ++version_;
}

}  // namespace nodepack::aggregator
