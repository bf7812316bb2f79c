#pragma once

// Who is at the other end of a connection, as the topology metrics name it: a pod (its workload,
// or its name), a Service, or an external address folded into a bucket so that the number of
// series stays bounded whatever the pods talk to.

#include "kpod/peers/peer_directory.hpp"
#include "kpod/peers/topology.hpp"

#include <boost/asio/ip/address.hpp>

#include <cstdint>
#include <string>

namespace nodepack::bpf {

struct PeerName {
  std::string kind;  // "pod", "service" or "external"
  std::string namespace_name;
  std::string workload;  // the peer_workload label
  auto operator<=>(const PeerName&) const = default;
};

// A v4-mapped IPv6 address as the IPv4 address it carries (a dual-stack socket connecting to an
// IPv4 peer); any other address as is.
boost::asio::ip::address unmapped(const boost::asio::ip::address& addr);

// The bucket an address no one in the cluster owns is counted in: "loopback", "link-local",
// "unspecified", else its IPv4 /24 or IPv6 /48 ("203.0.113.0/24", "2001:db8:1::/48").
std::string external_bucket(const boost::asio::ip::address& addr);

// `port`: the remote port of an outbound connection (what service_of is asked with), 0 for an
// inbound one (the client's port means nothing). `peers` null: every peer is external.
PeerName name_peer(const kpod::PeerDirectory* peers, kpod::PeerGranularity granularity,
                   const boost::asio::ip::address& addr, std::uint16_t port);

}  // namespace nodepack::bpf
