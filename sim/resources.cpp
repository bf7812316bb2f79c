#include "sim/resources.hpp"

namespace nodepack::sim {

const std::vector<ResourceType>& resource_types() {
  static const std::vector<ResourceType> types = {
      {Kind::pod,
       "",
       "v1",
       "pods",
       "pod",
       "Pod",
       true,
       {"delete", "get", "list", "watch"},
       {"po"},
       {"spec.nodeName", "status.phase", "spec.schedulerName"}},
      {Kind::node, "", "v1", "nodes", "node", "Node", false, {"get", "list", "watch"}, {"no"}, {"spec.unschedulable"}},
      {Kind::service,
       "",
       "v1",
       "services",
       "service",
       "Service",
       true,
       {"create", "delete", "get", "list", "update", "watch"},
       {"svc"},
       {"spec.clusterIP", "spec.type"}},
      {Kind::event,
       "",
       "v1",
       "events",
       "event",
       "Event",
       true,
       {"create", "delete", "get", "list", "watch"},
       {"ev"},
       {"involvedObject.kind", "involvedObject.name", "involvedObject.namespace", "involvedObject.uid",
        "involvedObject.fieldPath", "reason", "type"}},
      {Kind::endpoint_slice,
       "discovery.k8s.io",
       "v1",
       "endpointslices",
       "endpointslice",
       "EndpointSlice",
       true,
       {"create", "delete", "get", "list", "update", "watch"},
       {},
       {}},
      {Kind::lease,
       "coordination.k8s.io",
       "v1",
       "leases",
       "lease",
       "Lease",
       true,
       {"create", "delete", "get", "list", "update", "watch"},
       {},
       {}},
      {Kind::node_resource_topology,
       "topology.node.k8s.io",
       "v1alpha2",
       "noderesourcetopologies",
       "noderesourcetopology",
       "NodeResourceTopology",
       false,
       {"create", "delete", "get", "list", "update", "watch"},
       {"node-res-topo"},
       {}},
  };
  return types;
}

const ResourceType& type_of(Kind kind) { return resource_types()[static_cast<std::size_t>(kind)]; }

std::string api_version(const ResourceType& type) {
  return type.group.empty() ? std::string(type.version) : std::string(type.group) + "/" + std::string(type.version);
}

std::string_view kind_name(Kind kind) { return type_of(kind).kind_name; }
std::string_view resource_name(Kind kind) { return type_of(kind).resource; }
bool is_namespaced(Kind kind) { return type_of(kind).namespaced; }

}  // namespace nodepack::sim
