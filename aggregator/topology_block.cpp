#include "aggregator/topology_block.hpp"

#include <boost/json/object.hpp>

#include <unordered_map>

namespace nodepack::aggregator {
namespace {

namespace json = boost::json;

// Interns the block's strings: a node's edges repeat the same namespaces and workloads.
class Names {
 public:
  explicit Names(std::vector<std::string>& names) : names_(names) {}
  std::uint32_t add(std::string_view s) {
    const auto [it, added] = index_.try_emplace(std::string(s), static_cast<std::uint32_t>(names_.size()));
    if (added) {
      names_.emplace_back(s);
    }
    return it->second;
  }

 private:
  std::vector<std::string>& names_;
  std::unordered_map<std::string, std::uint32_t> index_;
};

Result<std::string_view> string_of(const json::object& edge, std::string_view key) {
  const auto* value = edge.if_contains(key);
  if (value == nullptr || !value->is_string()) {
    return fail("\"" + std::string(key) + "\" is missing or not a string");
  }
  return std::string_view(value->get_string());
}

Result<std::uint64_t> counter_of(const json::object& edge, std::string_view key) {
  const auto* value = edge.if_contains(key);
  if (value != nullptr && value->is_uint64()) {
    return value->get_uint64();
  }
  if (value != nullptr && value->is_int64() && value->get_int64() >= 0) {
    return static_cast<std::uint64_t>(value->get_int64());
  }
  return fail("\"" + std::string(key) + "\" is missing or not a non-negative integer");
}

Result<PeerKind> peer_kind_of(std::string_view s) {
  for (const auto kind : {PeerKind::pod, PeerKind::service, PeerKind::external, PeerKind::overflow}) {
    if (s == peer_kind_name(kind)) {
      return kind;
    }
  }
  return fail("unknown peer_kind \"" + std::string(s) + "\"");
}

Result<TopologyEdge> parse_edge(const json::value& value, Names& names) {
  const auto* edge = value.if_object();
  if (edge == nullptr) {
    return fail("an edge is not an object");
  }
  TopologyEdge out;
  // The string fields, each interned.
  const std::pair<std::string_view, std::uint32_t*> strings[] = {
      {"namespace", &out.ns},           {"workload", &out.workload},           {"pod", &out.pod},
      {"peer_namespace", &out.peer_ns}, {"peer_workload", &out.peer_workload}, {"protocol", &out.protocol}};
  for (const auto& [key, slot] : strings) {
    auto s = string_of(*edge, key);
    if (!s) {
      return s.error();
    }
    *slot = names.add(*s);
  }
  auto direction = string_of(*edge, "direction");
  if (!direction) {
    return direction.error();
  }
  if (*direction == "outbound") {
    out.direction = EdgeDirection::outbound;
  } else if (*direction == "inbound") {
    out.direction = EdgeDirection::inbound;
  } else {
    return fail("unknown direction \"" + std::string(*direction) + "\"");
  }
  auto kind_text = string_of(*edge, "peer_kind");
  if (!kind_text) {
    return kind_text.error();
  }
  auto kind = peer_kind_of(*kind_text);
  if (!kind) {
    return kind.error();
  }
  out.peer_kind = *kind;
  auto port = counter_of(*edge, "port");
  if (!port || *port > 65535) {
    return fail("\"port\" is missing or not a port number");
  }
  out.port = static_cast<std::uint16_t>(*port);
  auto connections = counter_of(*edge, "connections");
  if (!connections) {
    return connections.error();
  }
  out.connections = *connections;
  auto failures = counter_of(*edge, "failures");
  if (!failures) {
    return failures.error();
  }
  out.failures = *failures;
  return out;
}

}  // namespace

std::string_view peer_kind_name(PeerKind kind) {
  switch (kind) {
    case PeerKind::pod:
      return "pod";
    case PeerKind::service:
      return "service";
    case PeerKind::external:
      return "external";
    case PeerKind::overflow:
      return "overflow";
  }
  return "unknown";
}

Result<NodeTopology> parse_topology(const json::value& block, std::size_t max_edges) {
  const auto* object = block.if_object();
  if (object == nullptr) {
    return fail("\"topology\" is not an object");
  }
  NodeTopology out;
  if (const auto* granularity = object->if_contains("granularity"); granularity != nullptr) {
    if (!granularity->is_string()) {
      return fail("\"topology.granularity\" is not a string");
    }
    out.granularity = std::string(granularity->get_string());
  }
  const auto* edges = object->if_contains("edges");
  if (edges == nullptr || !edges->is_array()) {
    return fail("\"topology.edges\" is missing or not an array");
  }
  Names names(out.names);
  out.edges.reserve(std::min(edges->get_array().size(), max_edges));
  std::size_t index = 0;
  for (const auto& value : edges->get_array()) {
    // Every edge is checked, kept or not: a block with a bad edge anywhere is rejected whole.
    auto edge = parse_edge(value, names);
    if (!edge) {
      return fail("\"topology.edges[" + std::to_string(index) + "]\": " + edge.error().message);
    }
    if (out.edges.size() < max_edges) {
      out.edges.push_back(*edge);
    } else {
      ++out.dropped;
    }
    ++index;
  }
  out.names.shrink_to_fit();
  return out;
}

}  // namespace nodepack::aggregator
