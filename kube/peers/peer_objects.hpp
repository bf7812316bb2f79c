#pragma once

// The few fields of a Pod, a Service and an EndpointSlice that name a peer, read straight from
// the API server's JSON: nothing else of the object (containers, statuses, conditions) is parsed
// or kept, since the agent holds these for the whole cluster.

#include "common/result.hpp"
#include "kube/peers/address_key.hpp"

#include <boost/json/value.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace nodepack::kube::peers {

struct PodDigest {
  std::string namespace_name;
  std::string name;
  std::string workload;  // kube/workload.hpp: the Deployment, not its ReplicaSet; the pod itself when none
  // status.podIPs (status.podIP when absent); empty for a pod that holds no address of its own:
  // hostNetwork (it shares its node's), finished (Succeeded, Failed: its IP is free for reuse),
  // or not started yet.
  std::vector<AddressKey> addresses;
};

struct ServiceDigest {
  std::string namespace_name;
  std::string name;
  std::vector<AddressKey> addresses;  // spec.clusterIPs (spec.clusterIP); empty: headless or ExternalName
};

struct SliceDigest {
  std::string namespace_name;
  std::string name;
  std::string service;                // label kubernetes.io/service-name; empty: no Service owns it
  std::vector<AddressKey> addresses;  // every endpoint's addresses (FQDN slices have none)
  std::vector<std::uint16_t> ports;   // ports[].port; empty: all ports (none listed, or one unset)
};

// Each fails only when metadata.name is missing (then the object cannot be named at all); a
// deleted object's tombstone parses from its metadata alone.
Result<PodDigest> parse_pod_digest(const boost::json::value& json);
Result<ServiceDigest> parse_service_digest(const boost::json::value& json);
Result<SliceDigest> parse_slice_digest(const boost::json::value& json);

}  // namespace nodepack::kube::peers
