#pragma once

// The topology collector's user-space state: the kernel's per-(cgroup, peer address, port)
// counts folded into per-(pod, named peer, port) edges that only grow. The kernel map is an LRU
// that may evict an edge or lose a removed cgroup's entries; so each fold adds what grew since
// the last one (an entry smaller than last time was evicted and started again: all of it is new)
// and the edges keep their sums whatever happens to the entries behind them. Beyond `max_peers`
// distinct edges on the node, new ones fold into their pod's peer_kind="overflow" edge.

#include "bpf/topology/peer_naming.hpp"
#include "bpf/topology/topology.h"
#include "cgroup/pod_lookup.hpp"
#include "kpod/peers/topology.hpp"

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <tuple>
#include <utility>
#include <vector>

namespace nodepack::bpf {

using KernelEdges = std::vector<std::pair<topology_key, topology_counts>>;

class EdgeTable {
 public:
  struct Row {
    cgroup::PodIdentity local;  // pod level: no container
    kpod::TopologyEdge edge;
  };
  // The pod a cgroup belongs to, or nullopt when it is none, not known yet, or filtered out.
  using Resolve = std::function<cgroup::PodIdentityRef(std::uint64_t)>;

  EdgeTable(const kpod::PeerDirectory* peers, kpod::PeerGranularity granularity, std::size_t max_peers);

  // Adds what each entry of `read` (the whole map now) counted since the last fold. Entries whose
  // cgroup does not resolve are left for a later fold.
  void fold(const KernelEdges& read, const Resolve& resolve);
  // Drops the edges of pods `alive` says are gone (after their last export).
  void drop_pods(const std::function<bool(const std::string& pod_uid)>& alive);

  std::vector<Row> rows() const;
  kpod::PeerGranularity granularity() const { return granularity_; }
  std::size_t distinct_peers() const { return named_edges_; }

 private:
  using RawKey = std::array<std::uint8_t, sizeof(topology_key)>;
  // pod uid, direction, protocol, peer kind, peer namespace, peer workload, port
  using EdgeKey =
      std::tuple<std::string, std::string, std::string, std::string, std::string, std::string, std::uint16_t>;

  void add(const cgroup::PodIdentity& pod, const topology_key& key, const topology_counts& delta);

  const kpod::PeerDirectory* peers_;
  kpod::PeerGranularity granularity_;
  std::size_t max_peers_;
  std::size_t named_edges_ = 0;  // edges that are not overflow buckets
  std::map<RawKey, topology_counts> last_;
  std::map<EdgeKey, Row> edges_;
};

}  // namespace nodepack::bpf
