#pragma once

// The cluster's connection graph, merged from every node's topology block (/api/topology, the
// web UI's topology page). Graph nodes are workloads ("namespace/workload"), Services
// ("service:namespace/name"), external CIDR buckets ("external:203.0.113.0/24") and "overflow"
// (the peers an agent folded together); an edge is (source, target, port, protocol) with its
// connection and failure rates and its totals, summed over the pods and nodes that saw it.
//
// Every connection between two pods is seen twice, as an outbound edge by the client's agent and
// as an inbound edge by the server's. It is counted once: the client's outbound view is the one
// used; an inbound edge counts only when its client has no agent view, i.e. the client is
// external (or a Service / overflow bucket) or is a workload that no node's topology block names
// as its own (its nodes run no agent, or agents with the topology collector off). A workload with
// some pods on covered nodes and some on uncovered ones has the uncovered pods' connections left
// out rather than some counted twice. For any one (source, target, port, protocol), outbound
// observations win over inbound ones.

#include "aggregator/topology_rates.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace nodepack::aggregator {

struct GraphNode {
  std::string id;
  std::string kind;  // workload, service, external, overflow
  std::string ns;    // "" for external and overflow
  std::string name;
};

struct GraphEdge {
  std::string source;  // GraphNode ids
  std::string target;
  std::uint16_t port = 0;
  std::string protocol;
  double connections_per_second = 0;
  double failures_per_second = 0;
  std::uint64_t connections = 0;  // cumulative counters summed (each since its agent started)
  std::uint64_t failures = 0;
};

struct TopologyGraph {
  std::vector<GraphNode> nodes;  // sorted by id
  std::vector<GraphEdge> edges;  // sorted by source, target, port, protocol
  std::chrono::system_clock::time_point generated_at;
  std::size_t reporting_nodes = 0;  // nodes whose fresh report has a topology block
  std::size_t dropped_edges = 0;    // edges nodes sent beyond max_topology_edges
};

// Merges the samples no older than `stale_after` at `now` (an agent that stopped answering stops
// contributing rather than freezing its last rates into the graph).
TopologyGraph build_topology_graph(const TopologyRates& rates, std::chrono::system_clock::time_point now,
                                   std::chrono::nanoseconds stale_after);

// The /api/topology document: the edges with a visible namespace at either end (all when
// `visible` is empty), the nodes they join, at most `max_edges` edges (the busiest first;
// "truncated" says when some were left out).
inline constexpr std::size_t max_api_edges = 5000;
boost::json::object topology_json(const TopologyGraph& graph, const std::function<bool(std::string_view)>& visible,
                                  std::size_t max_edges = max_api_edges);

}  // namespace nodepack::aggregator
