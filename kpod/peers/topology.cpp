#include "kpod/peers/topology.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

namespace nodepack::kpod {

Result<PeerGranularity> parse_peer_granularity(std::string_view s) {
  if (s == "workload") {
    return PeerGranularity::workload;
  }
  if (s == "service") {
    return PeerGranularity::service;
  }
  if (s == "pod") {
    return PeerGranularity::pod;
  }
  return fail("peer granularity must be workload, service or pod, got \"" + std::string(s) + "\"");
}

std::string_view granularity_name(PeerGranularity g) {
  switch (g) {
    case PeerGranularity::service:
      return "service";
    case PeerGranularity::pod:
      return "pod";
    case PeerGranularity::workload:
      break;
  }
  return "workload";
}

boost::json::value topology_json(const TopologySnapshot& snapshot) {
  boost::json::array edges;
  for (const auto& e : snapshot.edges) {
    edges.push_back(boost::json::object{
        {"namespace", e.namespace_name},
        {"workload", e.workload},
        {"pod", e.pod},
        {"direction", e.direction},
        {"peer_kind", e.peer_kind},
        {"peer_namespace", e.peer_namespace},
        {"peer_workload", e.peer_workload},
        {"port", e.port},
        {"protocol", e.protocol},
        {"connections", e.connections},
        {"failures", e.failures},
    });
  }
  return boost::json::object{{"granularity", granularity_name(snapshot.granularity)}, {"edges", std::move(edges)}};
}

}  // namespace nodepack::kpod
