#pragma once

// Per-pod connection topology as the agent hands it on: edges from a local pod to a peer (a pod,
// a Service, an external address bucket, or the overflow bucket), with cumulative connection and
// failure counts. The topology collector (bpf/topology) produces it; the agent serves it on
// /debug/topology and in /report's "topology" block, which the aggregator reads.

#include "common/result.hpp"

#include <boost/json/value.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace nodepack::kpod {

// How finely a pod peer is named (--kpod.topology.peer-granularity).
enum class PeerGranularity { workload, service, pod };

Result<PeerGranularity> parse_peer_granularity(std::string_view s);
std::string_view granularity_name(PeerGranularity g);

struct TopologyEdge {
  std::string namespace_name;  // the local pod's
  std::string workload;        // the local pod's workload, else its name
  std::string pod;
  std::string direction;  // "outbound" (the pod connected) or "inbound" (the pod accepted)
  std::string peer_kind;  // "pod", "service", "external" or "overflow"
  std::string peer_namespace;
  // pod: its workload (or its name at pod granularity); service: the Service's name; external: an
  // address bucket (bpf/README.md); overflow: empty.
  std::string peer_workload;
  std::uint16_t port = 0;  // outbound: the remote port; inbound: the local listening port; overflow: 0
  std::string protocol;    // "tcp" or "udp"
  std::uint64_t connections = 0;
  std::uint64_t failures = 0;
};

struct TopologySnapshot {
  PeerGranularity granularity = PeerGranularity::workload;
  std::vector<TopologyEdge> edges;
};

// {"granularity":"workload","edges":[{"namespace":...,"workload":...,"pod":...,"direction":...,
//  "peer_kind":...,"peer_namespace":...,"peer_workload":...,"port":8080,"protocol":"tcp",
//  "connections":12,"failures":1}]}
boost::json::value topology_json(const TopologySnapshot& snapshot);

// What a collector that knows the topology offers the agent. Refreshes from its source on every
// call; safe to call while the registry scrapes.
class TopologyView {
 public:
  virtual ~TopologyView() = default;
  virtual TopologySnapshot topology() = 0;
};

}  // namespace nodepack::kpod
