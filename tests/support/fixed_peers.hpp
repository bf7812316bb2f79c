#pragma once

// A peer directory the test fills by hand, standing in for the agent's cluster-wide one: pod
// addresses, Service ClusterIPs, and which Service's endpoints list which pod address.

#include "kpod/peers/peer_directory.hpp"

#include <map>
#include <optional>
#include <string>
#include <utility>

namespace nodepack::testing {

class FixedPeers final : public kpod::PeerDirectory {
 public:
  void add_pod(const std::string& addr, std::string ns, std::string workload, std::string name) {
    owners_[boost::asio::ip::make_address(addr)] = {kpod::PeerKind::pod, std::move(ns), std::move(workload),
                                                    std::move(name)};
  }
  void add_service(const std::string& cluster_ip, const std::string& ns, const std::string& name) {
    owners_[boost::asio::ip::make_address(cluster_ip)] = service(ns, name);
  }
  // The Service ns/name lists the pod at `pod_addr` as an endpoint on `port`.
  void add_endpoint(const std::string& pod_addr, std::uint16_t port, const std::string& ns, const std::string& name) {
    endpoints_[{boost::asio::ip::make_address(pod_addr), port}] = service(ns, name);
  }

  std::optional<kpod::PeerOwner> owner_of(const boost::asio::ip::address& addr) const override {
    auto it = owners_.find(addr);
    return it == owners_.end() ? std::nullopt : std::optional(it->second);
  }
  std::optional<kpod::PeerOwner> service_of(const boost::asio::ip::address& pod_addr,
                                            std::uint16_t port) const override {
    for (const auto& [key, owner] : endpoints_) {
      if (key.first == pod_addr && (port == 0 || key.second == port)) {
        return owner;
      }
    }
    return std::nullopt;
  }

 private:
  static kpod::PeerOwner service(const std::string& ns, const std::string& name) {
    return {kpod::PeerKind::service, ns, name, name};
  }
  std::map<boost::asio::ip::address, kpod::PeerOwner> owners_;
  std::map<std::pair<boost::asio::ip::address, std::uint16_t>, kpod::PeerOwner> endpoints_;
};

}  // namespace nodepack::testing
