#include "agent/peer_watch.hpp"

#include "agent/kernel_backend.hpp"

#include "kube/sync_status.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <algorithm>
#include <optional>

namespace nodepack::agent {
namespace {

std::optional<kpod::PeerOwner> to_owner(std::optional<kube::peers::PeerName> name) {
  if (!name) {
    return std::nullopt;
  }
  const auto kind = name->kind == kube::peers::PeerKind::pod ? kpod::PeerKind::pod : kpod::PeerKind::service;
  return kpod::PeerOwner{kind, std::move(name->namespace_name), std::move(name->workload), std::move(name->name)};
}

}  // namespace

bool topology_enabled(const AgentOptions& options) {
  if (!options.collect_bpf) {
    return false;
  }
  // The profile that has it is the collector table's, not repeated here.
  const auto specs = kernel_collector_specs();
  const auto spec = std::find_if(specs.begin(), specs.end(), [](const auto& s) { return s.name == "topology"; });
  if (spec == specs.end()) {
    return false;  // a build without it
  }
  const auto it = options.collector_overrides.find("topology");
  return kpod::collector_enabled(
      *spec, options.profile, it != options.collector_overrides.end() ? std::optional<bool>(it->second) : std::nullopt);
}

PeerWatch::PeerWatch(kube::ApiClient& client, const kube::ReflectorOptions& base, const Clock& clock) {
  const auto add = [&](std::string resource, std::string path, std::string field_selector, kube::ReflectorSink& sink) {
    auto o = base;
    o.resource = std::move(resource);
    o.path = std::move(path);
    o.field_selector = std::move(field_selector);
    reflectors_.push_back(std::make_unique<kube::Reflector>(client, std::move(o), sink, clock));
  };
  // A finished pod's IP is free for reuse: it leaves the selection (a DELETED event) and the model.
  add("peer-pods", "/api/v1/pods", "status.phase!=Succeeded,status.phase!=Failed", model_.pod_sink());
  add("services", "/api/v1/services", "", model_.service_sink());
  add("endpointslices", "/apis/discovery.k8s.io/v1/endpointslices", "", model_.slice_sink());
}

PeerWatch::~PeerWatch() = default;

std::optional<kpod::PeerOwner> PeerWatch::owner_of(const boost::asio::ip::address& addr) const {
  return to_owner(model_.owner_of(addr));
}

std::optional<kpod::PeerOwner> PeerWatch::service_of(const boost::asio::ip::address& pod_addr,
                                                     std::uint16_t port) const {
  return to_owner(model_.service_of(pod_addr, port));
}

void PeerWatch::spawn(boost::asio::io_context& io) {
  for (auto& r : reflectors_) {
    boost::asio::co_spawn(io, r->run(), boost::asio::detached);
  }
}

std::vector<const kube::Reflector*> PeerWatch::reflectors() const {
  std::vector<const kube::Reflector*> out;
  for (const auto& r : reflectors_) {
    out.push_back(r.get());
  }
  return out;
}

boost::json::object PeerWatch::json() const {
  boost::json::array watches;
  for (const auto& r : reflectors_) {
    watches.push_back(kube::watch_json(r->status()));
  }
  const auto c = model_.counts();
  return boost::json::object{{"watches", std::move(watches)},
                             {"pods", c.pods},
                             {"pod_addresses", c.pod_addresses},
                             {"services", c.services},
                             {"slices", c.slices},
                             {"slice_addresses", c.slice_addresses},
                             {"names", c.names}};
}

}  // namespace nodepack::agent
