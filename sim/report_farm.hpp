#pragma once

// Synthetic agents for scale benchmarks of the aggregator: one HTTP server answering /report for
// N generated nodes, plus the matching Nodes, agent pods and a few unscheduled pods for a
// FakeApiServer.
//
// The aggregator reaches node i's "agent" in either of two ways:
//  - discovery (the real path): agent pod i has podIP 127.1.x.y (every 127/8 address is local
//    on Linux) and a container port named "metrics" equal to the farm's port; the farm, listening
//    on all addresses, tells the nodes apart by the Host header the aggregator sends;
//  - static: `--agents NODE=HOST:PORT/nodes/NODE` reads /nodes/NODE/report.
// Reports are built at request time with built_at = the farm clock's now.

#include "common/clock.hpp"
#include "common/result.hpp"
#include "http/server.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace nodepack::sim {

struct ReportFarmOptions {
  int nodes = 100;
  int pods_per_node = 30;   // DaemonSet pods included
  int pending_pods = 100;   // unscheduled Pending pods for the API server
  bool bound_pods = false;  // also every node's pods, for an aggregator with --node-source=api
  // How often a node's report changes, as an agent's does with its pods: each node at its own
  // phase, its generation (and ETag) the number of whole periods passed; an If-None-Match naming
  // the current ETag is answered 304 as the agent does. 0: every report is new (no ETag).
  int change_every_seconds = 0;
  std::uint64_t seed = 1;
};

class ReportFarm {
 public:
  ReportFarm(ReportFarmOptions options, const Clock& clock);

  // For the FakeApiServer.
  std::vector<boost::json::object> node_objects() const;
  std::vector<boost::json::object> agent_pods(std::uint16_t port) const;
  std::vector<boost::json::object> pending_pod_objects() const;
  // pods_per_node - 1 pods on each node (the agent pod is the other): one more DaemonSet pod of
  // 150m and 200Mi, the rest 100m and 128Mi. Empty unless options.bound_pods.
  std::vector<boost::json::object> bound_pod_objects() const;

  // /report (node by Host header) and /nodes/NAME/report.
  http::Router router() const;
  // The report of node `index`, built now.
  std::string report(std::size_t index) const;
  // Its generation now (see change_every_seconds; 1 when reports do not change by period).
  std::uint64_t generation(std::size_t index) const;

  std::size_t size() const { return nodes_.size(); }
  const std::string& node_name(std::size_t index) const { return nodes_[index].name; }
  static std::string pod_ip(std::size_t index);

 private:
  struct FarmNode {
    std::string name;
    std::vector<std::pair<std::string, std::string>> labels;
    std::string cpu_allocatable;
    std::string memory_allocatable;
    std::int64_t cpu_allocated_milli = 0;
    std::int64_t memory_allocated = 0;
    std::int64_t daemonset_cpu_milli = 0;
    std::int64_t daemonset_memory = 0;
    int pods = 0;
    int daemonset_pods = 0;
  };

  ReportFarmOptions options_;
  const Clock& clock_;
  std::vector<FarmNode> nodes_;
  std::unordered_map<std::string, std::size_t> by_ip_;
  std::unordered_map<std::string, std::size_t> by_name_;
};

}  // namespace nodepack::sim
