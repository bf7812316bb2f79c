#pragma once

// Who owns a network address in the cluster, as the per-pod network collectors (connection
// topology, and whatever later names a peer) ask it. The agent implements it over its API-server
// watches of pod IPs, Services and EndpointSlices; tests use a fixed table. Nothing below the
// agent sees the Kubernetes model: a peer is a few names.

#include <boost/asio/ip/address.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace nodepack::kpod {

enum class PeerKind { pod, service, external };

struct PeerOwner {
  PeerKind kind = PeerKind::external;
  std::string namespace_name;  // empty for external peers
  // A pod's workload (its controller: Deployment, StatefulSet, DaemonSet, Job, ... or the pod's
  // own name when it has none); a Service's name.
  std::string workload;
  std::string name;  // the pod's or the Service's name
};

class PeerDirectory {
 public:
  virtual ~PeerDirectory() = default;
  // The pod whose IP this is, or the Service whose ClusterIP this is; nullopt when no one in
  // the cluster owns it (then the caller buckets it as external).
  virtual std::optional<PeerOwner> owner_of(const boost::asio::ip::address& addr) const = 0;
  // A Service whose EndpointSlices list this pod address (and, when non-zero, this port): what a
  // connection made straight to a pod IP (a service mesh, Cilium's socket load balancing) was
  // meant for. nullopt when none does.
  virtual std::optional<PeerOwner> service_of(const boost::asio::ip::address& pod_addr, std::uint16_t port) const = 0;
};

}  // namespace nodepack::kpod
