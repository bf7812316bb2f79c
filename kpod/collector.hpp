#pragma once

// One source of per-pod kernel metrics (kpod_*): a BPF program set or a reader of cgroup files
// and namespaces. The registry starts each, asks it at every scrape, and reports its health.

#include "cgroup/resolver.hpp"
#include "common/result.hpp"
#include "kpod/scope/pod_scope.hpp"

#include <prometheus/metric_family.h>

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

namespace nodepack::kpod {

// What one scrape hands every collector.
struct ScrapeContext {
  cgroup::CgroupResolver& resolver;
  const std::string& node;
  // Cgroups gone from disk before this scrape began: export their last values now, then drop
  // them (map entries included). The registry releases them from the resolver afterwards.
  const std::unordered_set<std::uint64_t>& removed;
  // Which pods get series (kpod's filters) and the labels those series carry.
  const PodScope& scope;
  // Live cgroups of pods the scope leaves out (their programs' map entries are to go).
  const std::unordered_set<std::uint64_t>& untracked;

  // The pod and container of a cgroup, or null when it is none or its pod is filtered out.
  cgroup::PodIdentityRef resolve(std::uint64_t cgroup_id) const {
    auto id = resolver.resolve(cgroup_id);
    if (id && !scope.tracks(*id)) {
      return nullptr;
    }
    return id;
  }
  metrics::Labels labels(const cgroup::PodIdentity& id, metrics::Labels extra = {}) const {
    return scope.labels(id, node, std::move(extra));
  }
};

// What a collector that runs programs in the kernel reports about them.
struct ProgramStats {
  std::string program;
  std::uint64_t run_count = 0;
  std::uint64_t run_time_ns = 0;
};

struct MapStats {
  std::string map;
  std::uint64_t entries = 0;  // as of the last collect()
  std::uint64_t capacity = 0;
};

// start() loads and attaches (BPF) or checks its inputs (cgroup files); a failure disables this
// collector only. collect() runs at every scrape; "no data" is success.
class Collector {
 public:
  virtual ~Collector() = default;
  virtual Result<void> start() = 0;
  virtual Result<void> collect(const ScrapeContext& ctx, std::vector<prometheus::MetricFamily>& out) = 0;
  virtual std::vector<ProgramStats> program_stats() const { return {}; }
  virtual std::vector<MapStats> map_stats() const { return {}; }
  // Failed inserts into full maps since start (programs count them in the kernel).
  virtual std::uint64_t map_update_errors() const { return 0; }
  // Reads of a live cgroup's files that failed since start; nullopt for collectors that read none.
  virtual std::optional<std::uint64_t> cgroup_read_errors() const { return std::nullopt; }
};

}  // namespace nodepack::kpod
