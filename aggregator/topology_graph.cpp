#include "aggregator/topology_graph.hpp"

#include "common/rfc3339.hpp"

#include <boost/json/array.hpp>

#include <algorithm>
#include <map>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

namespace nodepack::aggregator {
namespace {

namespace json = boost::json;

std::string workload_id(std::string_view ns, std::string_view workload) {
  return std::string(ns) + "/" + std::string(workload);
}

GraphNode local_node(const NodeTopology& t, const TopologyEdge& e) {
  return GraphNode{workload_id(t.name(e.ns), t.name(e.workload)), "workload", t.name(e.ns), t.name(e.workload)};
}

GraphNode peer_node(const NodeTopology& t, const TopologyEdge& e) {
  const std::string& ns = t.name(e.peer_ns);
  const std::string& name = t.name(e.peer_workload);
  switch (e.peer_kind) {
    case PeerKind::pod:
      return GraphNode{workload_id(ns, name), "workload", ns, name};
    case PeerKind::service:
      return GraphNode{"service:" + workload_id(ns, name), "service", ns, name};
    case PeerKind::external:
      return GraphNode{"external:" + name, "external", "", name};
    case PeerKind::overflow:
      break;
  }
  return GraphNode{"overflow", "overflow", "", "other peers"};
}

struct Sums {
  double connections_per_second = 0;
  double failures_per_second = 0;
  std::uint64_t connections = 0;
  std::uint64_t failures = 0;
  bool seen = false;

  void add(const TopologyEdge& e, const EdgeRate& rate) {
    connections_per_second += rate.connections_per_second;
    failures_per_second += rate.failures_per_second;
    connections += e.connections;
    failures += e.failures;
    seen = true;
  }
};

struct Views {
  Sums outbound;  // the clients' agents
  Sums inbound;   // the servers' agents, for clients without one
};

using EdgeKey = std::tuple<std::string, std::string, std::uint16_t, std::string>;

}  // namespace

TopologyGraph build_topology_graph(const TopologyRates& rates, std::chrono::system_clock::time_point now,
                                   std::chrono::nanoseconds stale_after) {
  TopologyGraph graph;
  graph.generated_at = now;
  std::vector<const TopologySample*> fresh;
  for (const auto& [node, sample] : rates.samples()) {
    if (now - sample.at <= stale_after) {
      fresh.push_back(&sample);
      graph.dropped_edges += sample.topology->dropped;
    }
  }
  graph.reporting_nodes = fresh.size();
  // The workloads some agent reports as its own: their outbound view exists.
  std::unordered_set<std::string> covered;
  for (const auto* sample : fresh) {
    const auto& t = *sample->topology;
    for (const auto& e : t.edges) {
      covered.insert(workload_id(t.name(e.ns), t.name(e.workload)));
    }
  }
  std::map<EdgeKey, Views> merged;
  std::unordered_map<std::string, GraphNode> nodes;
  for (const auto* sample : fresh) {
    const auto& t = *sample->topology;
    for (std::size_t i = 0; i < t.edges.size(); ++i) {
      const auto& e = t.edges[i];
      GraphNode local = local_node(t, e);
      GraphNode peer = peer_node(t, e);
      const bool outbound = e.direction == EdgeDirection::outbound;
      if (!outbound && e.peer_kind == PeerKind::pod && covered.contains(peer.id)) {
        continue;  // the client's agent reports this connection as outbound
      }
      auto& source = outbound ? local : peer;
      auto& target = outbound ? peer : local;
      auto& views = merged[EdgeKey{source.id, target.id, e.port, t.name(e.protocol)}];
      (outbound ? views.outbound : views.inbound).add(e, sample->rates[i]);
      for (auto* n : {&local, &peer}) {
        std::string id = n->id;
        nodes.try_emplace(std::move(id), std::move(*n));
      }
    }
  }
  graph.edges.reserve(merged.size());
  for (auto& [key, views] : merged) {
    const Sums& used = views.outbound.seen ? views.outbound : views.inbound;
    auto& [source, target, port, protocol] = key;
    graph.edges.push_back(GraphEdge{source, target, port, protocol, used.connections_per_second,
                                    used.failures_per_second, used.connections, used.failures});
  }
  graph.nodes.reserve(nodes.size());
  for (auto& [id, node] : nodes) {
    graph.nodes.push_back(std::move(node));
  }
  std::sort(graph.nodes.begin(), graph.nodes.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return graph;
}

json::object topology_json(const TopologyGraph& graph, const std::function<bool(std::string_view)>& visible,
                           std::size_t max_edges) {
  std::unordered_map<std::string_view, const GraphNode*> by_id;
  for (const auto& n : graph.nodes) {
    by_id.emplace(n.id, &n);
  }
  const auto shown = [&](const std::string& id) {
    const auto it = by_id.find(id);
    return it != by_id.end() && !it->second->ns.empty() && visible(it->second->ns);
  };
  std::vector<const GraphEdge*> edges;
  for (const auto& e : graph.edges) {
    if (!visible || shown(e.source) || shown(e.target)) {
      edges.push_back(&e);
    }
  }
  const bool truncated = edges.size() > max_edges;
  if (truncated) {
    // The busiest edges tell the most; the order among the kept ones stays the graph's.
    std::vector<const GraphEdge*> busiest = edges;
    std::nth_element(busiest.begin(), busiest.begin() + static_cast<std::ptrdiff_t>(max_edges - 1), busiest.end(),
                     [](const GraphEdge* a, const GraphEdge* b) {
                       return std::tie(a->connections_per_second, a->connections) >
                              std::tie(b->connections_per_second, b->connections);
                     });
    std::unordered_set<const GraphEdge*> keep(busiest.begin(),
                                              busiest.begin() + static_cast<std::ptrdiff_t>(max_edges));
    std::erase_if(edges, [&](const GraphEdge* e) { return !keep.contains(e); });
  }
  json::array edge_array;
  std::unordered_set<std::string_view> used;
  for (const auto* e : edges) {
    used.insert(e->source);
    used.insert(e->target);
    edge_array.push_back(json::object{{"source", e->source},
                                      {"target", e->target},
                                      {"port", e->port},
                                      {"protocol", e->protocol},
                                      {"connections_per_second", e->connections_per_second},
                                      {"failures_per_second", e->failures_per_second},
                                      {"connections", e->connections},
                                      {"failures", e->failures}});
  }
  json::array node_array;
  for (const auto& n : graph.nodes) {
    if (used.contains(n.id)) {
      node_array.push_back(json::object{{"id", n.id}, {"kind", n.kind}, {"namespace", n.ns}, {"name", n.name}});
    }
  }
  return json::object{{"nodes", std::move(node_array)},
                      {"edges", std::move(edge_array)},
                      {"generated_at", format_rfc3339(graph.generated_at)},
                      {"reporting_nodes", graph.reporting_nodes},
                      {"dropped_edges", graph.dropped_edges},
                      {"truncated", truncated}};
}

}  // namespace nodepack::aggregator
