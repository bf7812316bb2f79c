#include "kpod/netiface/net_iface_collector.hpp"

#include "cgroup/pod_process.hpp"
#include "common/files.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <charconv>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <unordered_set>

namespace nodepack::kpod {

Result<NetIfaceCollector::Interfaces> parse_net_dev(std::string_view text) {
  std::istringstream in{std::string(text)};
  std::string line;
  // "Inter-|   Receive ...|  Transmit" and " face |bytes packets errs drop fifo frame ..."
  if (!std::getline(in, line) || line.find('|') == std::string::npos || !std::getline(in, line) ||
      line.find("bytes") == std::string::npos) {
    return fail("not a net/dev file (header lines missing)");
  }
  NetIfaceCollector::Interfaces out;
  while (std::getline(in, line)) {
    // The name ends at the colon; on old kernels large byte counts touch it ("eth0:123456").
    auto colon = line.find(':');
    if (colon == std::string::npos) {
      continue;
    }
    std::string_view name(line.data(), colon);
    while (!name.empty() && name.front() == ' ') {
      name.remove_prefix(1);
    }
    if (name.empty() || name == "lo") {
      continue;
    }
    // rx: bytes packets errs drop fifo frame compressed multicast; tx: bytes packets errs drop ...
    std::array<std::uint64_t, 16> v{};
    std::istringstream nums(line.substr(colon + 1));
    std::size_t n = 0;
    for (std::string w; n < v.size() && nums >> w; ++n) {
      auto [ptr, ec] = std::from_chars(w.data(), w.data() + w.size(), v[n]);
      if (ec != std::errc{} || ptr != w.data() + w.size()) {
        break;
      }
    }
    if (n < 12) {
      continue;
    }
    NetIfaceCollector::Counters c;
    c.rx_bytes = v[0];
    c.rx_packets = v[1];
    c.rx_errors = v[2];
    c.rx_drops = v[3];
    c.tx_bytes = v[8];
    c.tx_packets = v[9];
    c.tx_errors = v[10];
    c.tx_drops = v[11];
    out.emplace_back(std::string(name), c);
  }
  return out;
}

NetIfaceCollector::NetIfaceCollector(HostPaths paths) : paths_(paths), readers_(paths.procfs, "net") {}

Result<void> NetIfaceCollector::start() {
  auto host = cgroup::require_host_namespace(paths_.procfs, "net", "to tell host-network pods apart");
  if (!host) {
    return host.error();
  }
  spdlog::info("collector iface: the node's network namespace is {}", host->from);
  host_net_ = host->inode;
  return {};
}

Result<void> NetIfaceCollector::collect(const ScrapeContext& ctx, std::vector<prometheus::MetricFamily>& out) {
  if (host_net_ == 0) {
    return fail("not started");
  }
  const std::uint64_t host_net = host_net_;
  // Per pod: its pod-level cgroup (for the labels) and its container cgroups, where a process
  // is in the pod's network namespace. Not the pod cgroup's other children: CRI-O's conmon
  // lives there and in the node's namespace.
  struct Pod {
    std::uint64_t pod_cgroup = 0;
    std::vector<std::filesystem::path> containers;
  };
  std::map<std::string, Pod, std::less<>> pods;
  for (const auto& cg : *ctx.resolver.live_dirs()) {
    if (cg.level == cgroup::CgroupResolver::Level::pod) {
      pods[cg.pod_uid].pod_cgroup = cg.id;
    } else if (cg.level == cgroup::CgroupResolver::Level::container && !cg.container_id.empty()) {
      pods[cg.pod_uid].containers.push_back(cg.dir);
    }
  }
  std::set<std::string, std::less<>> seen;
  std::unordered_set<std::uint64_t> seen_cgroups;
  std::vector<const PodRead*> rows;
  std::size_t failed = 0, denied = 0;
  for (const auto& [uid, pod] : pods) {
    auto id = pod.pod_cgroup != 0 ? ctx.resolve(pod.pod_cgroup) : nullptr;
    if (!id) {
      continue;  // a pod the store does not know (yet)
    }
    seen.insert(id->pod_uid);
    seen_cgroups.insert(pod.pod_cgroup);
    std::optional<int> pid;
    std::optional<std::uint64_t> ns;
    if (auto reader = readers_.find(pod.pod_cgroup, pod.containers)) {
      pid = reader->pid;
      ns = reader->ns;
    }
    if (pid) {
      if (ns && *ns == host_net) {
        last_.erase(id->pod_uid);  // hostNetwork: the node's counters, not the pod's
        continue;
      }
      auto text = read_small_file(paths_.procfs / std::to_string(*pid) / "net/dev");
      if (!ns && text) {
        ++denied;  // the process is there but its namespace link is not ours to read
      } else if (ns && text) {
        if (auto parsed = parse_net_dev(*text)) {
          last_.insert_or_assign(id->pod_uid, PodRead{*id, std::move(*parsed)});
        } else {
          ++failed;
        }
      }
      // A process that exited between the reads: keep the last values for this scrape.
    }
    if (auto it = last_.find(id->pod_uid); it != last_.end()) {
      it->second.id = *id;  // labels may have been filled in since
      rows.push_back(&it->second);
    }
  }
  // Pods whose cgroups are gone: their last values, once, then nothing.
  std::vector<PodRead> gone;
  readers_.retain([&](std::uint64_t cgroup) { return seen_cgroups.contains(cgroup); });
  for (auto it = last_.begin(); it != last_.end();) {
    if (!seen.contains(it->first)) {
      gone.push_back(std::move(it->second));
      it = last_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& g : gone) {
    rows.push_back(&g);
  }

  struct Field {
    const char* name;
    const char* help;
    std::uint64_t Counters::*member;
  };
  static constexpr std::array<Field, 8> fields{{
      {"kpod_net_iface_rx_bytes_total", "Bytes received on the interface of the pod's network namespace",
       &Counters::rx_bytes},
      {"kpod_net_iface_tx_bytes_total", "Bytes transmitted on the interface of the pod's network namespace",
       &Counters::tx_bytes},
      {"kpod_net_iface_rx_packets_total", "Packets received on the interface", &Counters::rx_packets},
      {"kpod_net_iface_tx_packets_total", "Packets transmitted on the interface", &Counters::tx_packets},
      {"kpod_net_iface_rx_errors_total", "Receive errors on the interface", &Counters::rx_errors},
      {"kpod_net_iface_tx_errors_total", "Transmit errors on the interface", &Counters::tx_errors},
      {"kpod_net_iface_rx_drops_total", "Received packets dropped on the interface", &Counters::rx_drops},
      {"kpod_net_iface_tx_drops_total", "Packets dropped on transmit on the interface", &Counters::tx_drops},
  }};
  for (const auto& f : fields) {
    auto family = metrics::Family::counter(f.name, f.help);
    for (const auto* r : rows) {
      cgroup::PodIdentity pod = r->id;
      pod.container.clear();
      for (const auto& [iface, c] : r->ifaces) {
        family.add(ctx.labels(pod, {{"interface", iface}}), static_cast<double>(c.*(f.member)));
      }
    }
    std::move(family).into(out);
  }
  if (failed > 0) {
    return fail(std::to_string(failed) + " pod net/dev file(s) did not parse");
  }
  if (denied > 0) {
    return fail("cannot read the network namespace of " + std::to_string(denied) +
                " pod process(es) (CAP_SYS_PTRACE needed): those pods are not reported");
  }
  return {};
}

}  // namespace nodepack::kpod
