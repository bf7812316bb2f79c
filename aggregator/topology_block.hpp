#pragma once

// The "topology" block of an agent's node report: the connections its pods made and received,
// one edge per (pod, direction, peer, port, protocol), with counters cumulative since the agent
// started. Kept compact because the aggregator holds one per node at up to 65,000 nodes: names
// are stored once per node and edges refer to them by index, and a node keeps at most
// `max_topology_edges` edges (the rest are counted as dropped, never silently lost).

#include "common/result.hpp"

#include <boost/json/value.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace nodepack::aggregator {

// 256 edges x ~40 bytes is ~10 KiB a node, ~650 MiB at 65,000 nodes in the worst case; a node's
// pods rarely talk to that many distinct peers (the agent folds the rest into "overflow" anyway).
inline constexpr std::size_t max_topology_edges = 256;

enum class EdgeDirection : std::uint8_t { outbound, inbound };
enum class PeerKind : std::uint8_t { pod, service, external, overflow };
std::string_view peer_kind_name(PeerKind kind);

struct TopologyEdge {
  // Indices into NodeTopology::names.
  std::uint32_t ns = 0;
  std::uint32_t workload = 0;
  std::uint32_t pod = 0;
  std::uint32_t peer_ns = 0;
  std::uint32_t peer_workload = 0;  // a workload, a Service name or a CIDR bucket
  std::uint32_t protocol = 0;
  std::uint16_t port = 0;
  EdgeDirection direction = EdgeDirection::outbound;
  PeerKind peer_kind = PeerKind::pod;
  std::uint64_t connections = 0;
  std::uint64_t failures = 0;
};

struct NodeTopology {
  std::string granularity;
  std::vector<std::string> names;  // every distinct string the edges use, once
  std::vector<TopologyEdge> edges;
  std::size_t dropped = 0;  // edges beyond max_topology_edges

  const std::string& name(std::uint32_t index) const { return names[index]; }
};

// Parses the block (the value of the report's "topology" key). Any wrong type or value rejects
// the whole block; the caller keeps the rest of the report.
Result<NodeTopology> parse_topology(const boost::json::value& block, std::size_t max_edges = max_topology_edges);

}  // namespace nodepack::aggregator
