#pragma once

// The agent's cluster-wide peer directory: kpod::PeerDirectory over kube/peers' model, kept by
// three reflectors of its own (pods that hold an IP, Services, EndpointSlices). Built only when
// a collector names peers (topology_enabled), since it costs three cluster-wide watches and
// memory in proportion to the cluster's pods; /sync shows its watches, /readyz does not wait
// for them (the node's own figures do not depend on them).

#include "agent/agent_options.hpp"
#include "common/clock.hpp"
#include "kpod/peers/peer_directory.hpp"
#include "kube/api_client.hpp"
#include "kube/peers/peer_model.hpp"
#include "kube/reflector.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/json/object.hpp>

#include <memory>
#include <vector>

namespace nodepack::agent {

// Whether the topology collector runs: --collector.topology when given, else the comprehensive
// profile; and the per-pod kernel collectors at all (--collectors.bpf).
bool topology_enabled(const AgentOptions& options);

class PeerWatch final : public kpod::PeerDirectory {
 public:
  // `base`: the agent's reflector settings (page size, bounds, back-off); resource, path and
  // selectors are set here.
  PeerWatch(kube::ApiClient& client, const kube::ReflectorOptions& base, const Clock& clock);
  ~PeerWatch() override;

  std::optional<kpod::PeerOwner> owner_of(const boost::asio::ip::address& addr) const override;
  std::optional<kpod::PeerOwner> service_of(const boost::asio::ip::address& pod_addr,
                                            std::uint16_t port) const override;

  void spawn(boost::asio::io_context& io);
  std::vector<const kube::Reflector*> reflectors() const;
  // {watches: [...], pods, pod_addresses, services, slices, slice_addresses, names}, for /sync.
  boost::json::object json() const;
  const kube::peers::PeerModel& model() const { return model_; }

 private:
  kube::peers::PeerModel model_;
  std::vector<std::unique_ptr<kube::Reflector>> reflectors_;
};

}  // namespace nodepack::agent
