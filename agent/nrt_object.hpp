#pragma once

// The NodeResourceTopology object (topology.node.k8s.io/v1alpha2) for this node, as
// scheduler-plugins' NodeResourceTopologyMatch reads it and NFD's topology-updater writes it: one
// zone per NUMA node ("node-<id>", type Node) with capacity, allocatable and available cpu,
// memory, hugepages and devices, the NUMA distances as costs, and the topology manager's policy
// and scope as attributes.

#include "agent/kubelet_config.hpp"
#include "numa/numa_state.hpp"

#include <boost/json/object.hpp>

#include <optional>
#include <string>

namespace nodepack::agent {

struct NodeOwner {  // the Node the object belongs to, so it is deleted with it
  std::string name;
  std::string uid;
};

// The object without metadata.resourceVersion. A zone lists the device resources it has
// allocatable devices of (pod-resources' topology, or the device checkpoint's registered ids
// that are PCI devices on that node).
boost::json::object nrt_object(const numa::NumaSnapshot& snapshot, const TopologyManagerConfig& topology_manager,
                               const std::optional<NodeOwner>& owner);

// "SingleNUMANodeContainerLevel" etc.: the deprecated topologyPolicies value older schedulers read.
std::string nrt_topology_policy(const TopologyManagerConfig& c);

}  // namespace nodepack::agent
