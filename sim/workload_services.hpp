#pragma once

// What the endpoints controller and a cluster's manifests add around the generated workloads: a
// Service per Deployment-like workload (pods owned by a ReplicaSet or a StatefulSet), with a
// ClusterIP from 10.96.0.0/12, and EndpointSlices of at most 100 endpoints listing its pods'
// IPs, kept current as pods come and go. The agent's peer directory watches them.

#include "common/result.hpp"
#include "sim/fake_api_server.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <set>
#include <string>

namespace nodepack::sim {

// The port every generated Service listens on and the pods' port its slices list.
inline constexpr int service_port = 80;
inline constexpr int workload_port = 8080;

// The Service a pod belongs to, "namespace/app", or "" when it has none (DaemonSet, Job and
// ownerless pods).
std::string service_key(const boost::json::object& pod);

// Creates the Services that pods need and are missing, and rewrites the EndpointSlices of the
// Services named in `changed` ("namespace/app"; all when null) from the stored pods: a slice is
// written only when its endpoints changed, and slices left empty are deleted.
Result<void> sync_workload_services(FakeApiServer& server, const std::set<std::string>* changed = nullptr);

// The pod IP the n-th started pod gets: 10.128.0.0 + n, within 10.128.0.0/9, so no two live pods
// of a generated cluster share one. Churned pods count on from another base (see Churner).
std::string nth_pod_ip(std::uint32_t n);

}  // namespace nodepack::sim
