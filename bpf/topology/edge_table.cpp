#include "bpf/topology/edge_table.hpp"

#include <cstring>

namespace nodepack::bpf {

namespace {

constexpr int kAfInet = 2;
constexpr int kProtoTcp = 6;
constexpr int kProtoUdp = 17;

std::string protocol_name(std::uint8_t p) {
  return p == kProtoTcp ? "tcp" : p == kProtoUdp ? "udp" : std::to_string(p);
}

boost::asio::ip::address peer_address(const topology_key& key) {
  namespace ip = boost::asio::ip;
  if (key.family == kAfInet) {
    ip::address_v4::bytes_type b{};
    std::memcpy(b.data(), key.addr, b.size());
    return ip::address_v4(b);
  }
  ip::address_v6::bytes_type b{};
  std::memcpy(b.data(), key.addr, b.size());
  return ip::address_v6(b);
}

// What grew since `before`; a smaller value is a new entry (the old one was evicted).
std::uint64_t grown(std::uint64_t now, std::uint64_t before) { return now >= before ? now - before : now; }

}  // namespace

EdgeTable::EdgeTable(const kpod::PeerDirectory* peers, kpod::PeerGranularity granularity, std::size_t max_peers)
    : peers_(peers), granularity_(granularity), max_peers_(max_peers) {}

void EdgeTable::fold(const KernelEdges& read, const Resolve& resolve) {
  std::map<RawKey, topology_counts> seen;
  for (const auto& [key, counts] : read) {
    RawKey raw{};
    std::memcpy(raw.data(), &key, raw.size());
    const auto last = last_.find(raw);
    auto pod = resolve(key.cgroup_id);
    if (!pod) {
      if (last != last_.end()) {
        seen.emplace(raw, last->second);  // still pending from where it was
      }
      continue;
    }
    topology_counts delta{};
    if (last != last_.end()) {
      delta.connections = grown(counts.connections, last->second.connections);
      delta.failures = grown(counts.failures, last->second.failures);
    } else {
      delta = counts;
    }
    seen.emplace(raw, counts);
    if (delta.connections != 0 || delta.failures != 0) {
      add(*pod, key, delta);
    }
  }
  last_ = std::move(seen);  // entries gone from the map (evicted, deleted) are forgotten
}

void EdgeTable::add(const cgroup::PodIdentity& pod, const topology_key& key, const topology_counts& delta) {
  const bool outbound = key.direction == TOPOLOGY_OUTBOUND;
  const auto peer = name_peer(peers_, granularity_, peer_address(key), outbound ? key.port : 0);
  EdgeKey ek{pod.pod_uid,
             outbound ? "outbound" : "inbound",
             protocol_name(key.protocol),
             peer.kind,
             peer.namespace_name,
             peer.workload,
             key.port};
  if (!edges_.contains(ek) && named_edges_ >= max_peers_) {
    ek = EdgeKey{pod.pod_uid, std::get<1>(ek), std::get<2>(ek), "overflow", "", "", 0};
  }
  auto it = edges_.find(ek);
  if (it == edges_.end()) {
    Row row;
    row.local = pod;
    row.local.container.clear();
    auto& e = row.edge;
    e.namespace_name = pod.namespace_name;
    e.workload = pod.workload.empty() ? pod.pod : pod.workload;
    e.pod = pod.pod;
    std::tie(std::ignore, e.direction, e.protocol, e.peer_kind, e.peer_namespace, e.peer_workload, e.port) = ek;
    if (e.peer_kind != "overflow") {
      ++named_edges_;
    }
    it = edges_.emplace(ek, std::move(row)).first;
  }
  it->second.edge.connections += delta.connections;
  it->second.edge.failures += delta.failures;
}

void EdgeTable::drop_pods(const std::function<bool(const std::string&)>& alive) {
  for (auto it = edges_.begin(); it != edges_.end();) {
    if (alive(it->second.local.pod_uid)) {
      ++it;
      continue;
    }
    if (it->second.edge.peer_kind != "overflow") {
      --named_edges_;
    }
    it = edges_.erase(it);
  }
}

std::vector<EdgeTable::Row> EdgeTable::rows() const {
  std::vector<Row> out;
  out.reserve(edges_.size());
  for (const auto& [key, row] : edges_) {
    out.push_back(row);
  }
  return out;
}

}  // namespace nodepack::bpf
