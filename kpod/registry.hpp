#pragma once

// The node_exporter-style registry of per-pod kernel collectors: chooses them by profile and
// flags, starts each (a failure disables that one only), asks them at every scrape and reports
// each one's health (nodepack_collector_*), its kernel programs' cost and its maps' fill.
//
//   kpod::CollectorRegistry reg(options, &resolver, specs);  // specs: kpod's file collectors + bpf's
//   reg.start();
//   metrics.add_unowned(reg);                                // Collect() at every scrape

#include "cgroup/resolver.hpp"
#include "common/clock.hpp"
#include "common/host_paths.hpp"
#include "kpod/collector.hpp"
#include "kpod/peers/peer_directory.hpp"
#include "kpod/peers/topology.hpp"
#include "kpod/profile.hpp"

#include <prometheus/collectable.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace nodepack::kpod {

// What collectors may be configured with.
struct CollectorOptions {
  HostPaths paths;
  std::string node;
  // Syscalls the syscall collector tracks (names; empty = kpod-metrics' default set).
  std::vector<std::string> tracked_syscalls;
  const Clock* clock = &SystemClock::instance();
  // Who owns a peer address (pods and Services cluster-wide); outlives the registry. Null: the
  // agent does not watch them, and every peer is external.
  const PeerDirectory* peers = nullptr;
  // The topology collector: how pod peers are named, and how many distinct edges the node keeps
  // before folding new ones into peer_kind="overflow" (--kpod.topology.*).
  PeerGranularity peer_granularity = PeerGranularity::workload;
  std::size_t topology_max_peers = 1000;
  // A DNS query unanswered for this long counts as rcode "timeout" (dns collector).
  std::chrono::nanoseconds dns_timeout = std::chrono::seconds(5);
  // How many of the node's most asked DNS names are exported (dns collector); 0: names are not
  // recorded at all.
  std::size_t dns_top_names = 0;
  std::string sched_variant = "auto";  // --kpod.sched.variant: auto, sched_slots, sched_info or classic
};

// What a collector factory may use.
struct CollectorDeps {
  const CollectorOptions& options;
  cgroup::CgroupResolver& resolver;
};

struct CollectorSpec {
  std::string name;
  Profile profile;  // the smallest profile that includes it
  bool uses_bpf;
  std::function<std::unique_ptr<Collector>(const CollectorDeps&)> make;
};

// Whether `spec` runs: its --collector.<name> override when given, else whether `profile` has it.
bool collector_enabled(const CollectorSpec& spec, Profile profile, std::optional<bool> override);

// The collectors that need no BPF: cgroup files, network interfaces, filesystems.
std::vector<CollectorSpec> file_collectors();

struct RegistryOptions {
  CollectorOptions collectors;
  Profile profile = Profile::standard;
  // Per-collector overrides of the profile (--collector.<name>=true|false).
  std::map<std::string, bool, std::less<>> enable;
  // Which pods get series, and their extra labels (--kpod.*, --cluster-name).
  PodScope scope;
  // Told the live cgroups of filtered pods whenever they may have changed (start, pod events,
  // every scrape), so that BPF programs give them no map entry; null without BPF.
  std::function<void(const std::vector<std::uint64_t>&)> skip_cgroups;
};

class CollectorRegistry final : public prometheus::Collectable {
 public:
  // `resolver` is shared and outlives the registry; null when the host has no cgroup v2 tree,
  // with `unusable` saying why: then every enabled collector is reported down (up=0, one error)
  // and the agent keeps serving everything else.
  CollectorRegistry(RegistryOptions options, cgroup::CgroupResolver* resolver, std::vector<CollectorSpec> specs,
                    std::optional<std::string> unusable = std::nullopt);
  ~CollectorRegistry() override;

  // Starts every enabled collector. Never fails as a whole.
  void start();
  // Re-walks the cgroup tree (pod events reach it through the agent; tests call it directly).
  void rescan();
  // Re-walks only the named pods' cgroups (the pods that changed since the last walk).
  void rescan_pods(const std::unordered_set<std::string>& uids);

  std::vector<prometheus::MetricFamily> Collect() const override;

  // Enabled collectors and whether they run, for logs and /debug pages.
  std::map<std::string, bool> status() const;
  bool any_running(bool uses_bpf) const;
  Collector* find(std::string_view name) const;
  cgroup::CgroupResolver* resolver() { return resolver_; }

 private:
  struct Slot {
    CollectorSpec spec;
    std::unique_ptr<Collector> collector;
    bool up = false;
    std::uint64_t errors = 0;
    double last_duration = 0;
    double start_duration = 0;  // making and starting it: for BPF, open, verify, load and attach
  };

  // The live cgroups of pods the scope filters out, handed to skip_cgroups. Call with mu_ held.
  // Worked out again only after a walk (the resolver's live_generation()): a pod's namespace
  // and labels change only with a pod event, and each pod event is followed by a walk.
  const std::unordered_set<std::uint64_t>& untracked_cgroups() const;

  RegistryOptions options_;
  cgroup::CgroupResolver* resolver_;
  std::vector<CollectorSpec> specs_;
  std::optional<std::string> unusable_;  // why no collector can run at all
  mutable std::mutex mu_;                // one scrape at a time; guards slots_
  mutable std::vector<Slot> slots_;
  mutable std::optional<std::uint64_t> untracked_of_;  // the resolver's live_generation() untracked_ is of
  mutable std::unordered_set<std::uint64_t> untracked_;
};

}  // namespace nodepack::kpod
