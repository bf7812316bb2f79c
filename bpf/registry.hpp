#pragma once

#include "bpf/bpf_stats.hpp"
#include "bpf/cgroup_resolver.hpp"
#include "bpf/collector.hpp"
#include "bpf/feature_probe.hpp"
#include "bpf/pod_lookup.hpp"
#include "common/clock.hpp"
#include "common/host_paths.hpp"
#include "common/result.hpp"

#include <prometheus/collectable.h>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nodepack::bpf {

// kpod-metrics' profiles; each includes the one before it.
enum class Profile { minimal = 0, standard = 1, comprehensive = 2 };
Result<Profile> parse_profile(std::string_view s);

struct RegistryOptions {
  HostPaths paths;
  std::string node;
  Profile profile = Profile::standard;
  // Per-collector overrides of the profile (--collector.<name>=true|false).
  std::map<std::string, bool, std::less<>> enable;
  bool bpf_stats = true;
  // Syscalls the syscall collector tracks (names; empty = kpod-metrics' default set).
  std::vector<std::string> tracked_syscalls;  // keep kernel run-time stats on to export per-program cost
  const Clock* clock = &SystemClock::instance();
};

// What a collector factory may use.
struct CollectorDeps {
  const RegistryOptions& options;
  FeatureProbe& features;
  CgroupResolver& resolver;
};

struct CollectorSpec {
  std::string name;
  Profile profile;  // the smallest profile that includes it
  bool uses_bpf;
  std::function<std::unique_ptr<Collector>(const CollectorDeps&)> make;
};

// Every collector nodepack knows, in registry order.
const std::vector<CollectorSpec>& builtin_collectors();

// The node_exporter-style registry of per-pod kernel collectors. Owns the cgroup resolver and
// the feature probe; exposes everything as one prometheus::Collectable.
//
//   auto reg = CollectorRegistry::create(opts, pod_lookup);
//   reg->start();                        // loads what it can; failures disable single collectors
//   registry.Register(*reg) / serialize reg->Collect()
//   reg->rescan();                       // on every pod add/update/delete
class CollectorRegistry final : public prometheus::Collectable {
 public:
  // Never fails: without a cgroup v2 hierarchy every collector is reported down (up=0, one
  // error) with the reason logged once, and the agent keeps serving everything else.
  static std::unique_ptr<CollectorRegistry> create(RegistryOptions options, const PodLookup& pods);

  // Full control, for tests: explicit specs, resolver and probe.
  CollectorRegistry(RegistryOptions options, std::unique_ptr<CgroupResolver> resolver,
                    std::unique_ptr<FeatureProbe> features, std::vector<CollectorSpec> specs);
  ~CollectorRegistry() override;

  // Starts every enabled collector. Never fails as a whole.
  void start();
  // Re-walks the cgroup tree; call on pod events (cheap: one directory walk).
  void rescan();

  std::vector<prometheus::MetricFamily> Collect() const override;

  // Enabled collectors and whether they run, for logs and /debug pages.
  std::map<std::string, bool> status() const;
  Collector* find(std::string_view name) const;
  CgroupResolver& resolver() { return *resolver_; }

 private:
  struct Slot {
    CollectorSpec spec;
    std::unique_ptr<Collector> collector;
    bool up = false;
    std::uint64_t errors = 0;
    double last_duration = 0;
  };

  RegistryOptions options_;
  std::unique_ptr<CgroupResolver> resolver_;
  std::unique_ptr<FeatureProbe> features_;
  std::vector<CollectorSpec> specs_;
  mutable std::mutex mu_;  // one scrape at a time; guards slots_
  mutable std::vector<Slot> slots_;
  std::optional<BpfStatsSession> stats_;
  std::optional<std::string> unusable_;  // why no collector can run at all
};

}  // namespace nodepack::bpf
