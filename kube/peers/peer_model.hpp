#pragma once

// Who owns an address in the cluster, kept current by three cluster-wide watches (pods, Services,
// EndpointSlices) and asked from any thread. The reflectors write through the sinks below on
// their io thread; lookups take a shared lock and hash the address's bytes, so a scrape asking
// for thousands of peers never waits on parsing (a list page is parsed before the lock is taken).
//
//   PeerModel model;
//   kube::Reflector pods(client, options, model.pod_sink(), clock);   // and services, slices
//   model.owner_of(address);    // the pod with this IP, else the Service with this ClusterIP
//   model.service_of(address, port);

#include "kube/peers/peer_tables.hpp"
#include "kube/reflector.hpp"

#include <boost/asio/ip/address.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <shared_mutex>

namespace nodepack::kube::peers {

struct PeerCounts {
  std::size_t pods = 0;  // pods holding an address
  std::size_t pod_addresses = 0;
  std::size_t services = 0;  // Services with a ClusterIP
  std::size_t slices = 0;
  std::size_t slice_addresses = 0;
  std::size_t names = 0;  // interned namespaces, workloads and Service names
};

class PeerModel {
 public:
  PeerModel();
  ~PeerModel();
  PeerModel(const PeerModel&) = delete;
  PeerModel& operator=(const PeerModel&) = delete;

  std::optional<PeerName> owner_of(const boost::asio::ip::address& address) const;
  std::optional<PeerName> service_of(const boost::asio::ip::address& pod_address, std::uint16_t port) const;
  PeerCounts counts() const;

  ReflectorSink& pod_sink() { return *pod_sink_; }
  ReflectorSink& service_sink() { return *service_sink_; }
  ReflectorSink& slice_sink() { return *slice_sink_; }

 private:
  mutable std::shared_mutex mutex_;
  StringPool pool_;  // before the tables: they release into it when they go
  PodTable pods_;
  ServiceTable services_;
  SliceTable slices_;
  std::unique_ptr<ReflectorSink> pod_sink_;
  std::unique_ptr<ReflectorSink> service_sink_;
  std::unique_ptr<ReflectorSink> slice_sink_;
};

}  // namespace nodepack::kube::peers
