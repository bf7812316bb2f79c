#include "bpf/topology/peer_naming.hpp"

namespace nodepack::bpf {

namespace ip = boost::asio::ip;

ip::address unmapped(const ip::address& addr) {
  if (addr.is_v6() && addr.to_v6().is_v4_mapped()) {
    return ip::make_address_v4(ip::v4_mapped, addr.to_v6());
  }
  return addr;
}

std::string external_bucket(const ip::address& raw) {
  const auto addr = unmapped(raw);
  if (addr.is_loopback()) {
    return "loopback";
  }
  if (addr.is_unspecified()) {
    return "unspecified";
  }
  if (addr.is_v4()) {
    const auto bytes = addr.to_v4().to_bytes();
    if (bytes[0] == 169 && bytes[1] == 254) {
      return "link-local";
    }
    const ip::address_v4 net(ip::address_v4::bytes_type{bytes[0], bytes[1], bytes[2], 0});
    return net.to_string() + "/24";
  }
  const auto v6 = addr.to_v6();
  if (v6.is_link_local()) {
    return "link-local";
  }
  auto bytes = v6.to_bytes();
  for (std::size_t i = 6; i < bytes.size(); ++i) {
    bytes[i] = 0;
  }
  return ip::address_v6(bytes).to_string() + "/48";
}

namespace {

PeerName pod_or_service(const kpod::PeerOwner& owner, bool by_pod_name) {
  if (owner.kind == kpod::PeerKind::service) {
    return {"service", owner.namespace_name, owner.name.empty() ? owner.workload : owner.name};
  }
  const std::string& workload = by_pod_name || owner.workload.empty() ? owner.name : owner.workload;
  return {"pod", owner.namespace_name, workload};
}

}  // namespace

PeerName name_peer(const kpod::PeerDirectory* peers, kpod::PeerGranularity granularity, const ip::address& raw,
                   std::uint16_t port) {
  const auto addr = unmapped(raw);
  auto owner = peers != nullptr ? peers->owner_of(addr) : std::nullopt;
  if (!owner || owner->kind == kpod::PeerKind::external) {
    return {"external", "", external_bucket(addr)};
  }
  if (owner->kind == kpod::PeerKind::pod && granularity == kpod::PeerGranularity::service) {
    if (auto service = peers->service_of(addr, port)) {
      return pod_or_service(*service, false);
    }
  }
  return pod_or_service(*owner, granularity == kpod::PeerGranularity::pod);
}

}  // namespace nodepack::bpf
