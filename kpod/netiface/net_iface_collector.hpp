#pragma once

#include "cgroup/pod_process.hpp"
#include "common/host_paths.hpp"
#include "kpod/collector.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nodepack::kpod {

// kpod_net_iface_{rx,tx}_{bytes,packets,errors,drops}_total per pod and interface, from
// <procfs>/<pid>/net/dev of one live process of the pod (its network namespace). No BPF, no
// cgroup files beyond cgroup.procs. `lo` is skipped; pods in the host's network namespace
// (hostNetwork: same ns/net inode as <procfs>/1) are not reported, since their counters would
// be the node's. Pod level only (all containers of a pod share its network namespace).
class NetIfaceCollector final : public Collector {
 public:
  struct Counters {
    std::uint64_t rx_bytes = 0, rx_packets = 0, rx_errors = 0, rx_drops = 0;
    std::uint64_t tx_bytes = 0, tx_packets = 0, tx_errors = 0, tx_drops = 0;
    bool operator==(const Counters&) const = default;
  };
  using Interfaces = std::vector<std::pair<std::string, Counters>>;

  explicit NetIfaceCollector(HostPaths paths);

  Result<void> start() override;
  Result<void> collect(const ScrapeContext& ctx, std::vector<prometheus::MetricFamily>& out) override;

 private:
  struct PodRead {
    cgroup::PodIdentity id;
    Interfaces ifaces;
  };
  HostPaths paths_;
  // The node's network namespace (its inode), read at start: the node's namespace outlives the
  // agent, and a stat of <procfs>/1/ns/net at every scrape is a pid dentry built and freed.
  std::uint64_t host_net_ = 0;
  // Last read of each pod (by uid): exported once more after its cgroups are gone, and while a
  // live pod momentarily has no process (between container restarts).
  std::map<std::string, PodRead, std::less<>> last_;
  cgroup::NamespaceReaders readers_;  // by pod cgroup id: the process each pod was last read through
};

// <procfs>/<pid>/net/dev, interfaces in file order, `lo` left out. Lines that do not parse are
// skipped; a text without the two header lines is an error.
Result<NetIfaceCollector::Interfaces> parse_net_dev(std::string_view text);

}  // namespace nodepack::kpod
