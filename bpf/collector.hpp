#pragma once

#include "bpf/cgroup_resolver.hpp"
#include "common/result.hpp"

#include <prometheus/metric_family.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace nodepack::bpf {

// What one scrape hands every collector.
struct ScrapeContext {
  CgroupResolver& resolver;
  const std::string& node;
  // Cgroups gone from disk before this scrape began: export their last values now, then drop
  // them (map entries included). The registry releases them from the resolver afterwards.
  const std::unordered_set<std::uint64_t>& removed;
};

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

// One source of metrics. start() loads and attaches (BPF) or checks its inputs (cgroup files);
// a failure disables this collector only. collect() runs at every scrape; "no data" is success.
class Collector {
 public:
  virtual ~Collector() = default;
  virtual std::string_view name() const = 0;
  virtual Result<void> start() = 0;
  virtual Result<void> collect(const ScrapeContext& ctx, std::vector<prometheus::MetricFamily>& out) = 0;
  virtual std::vector<ProgramStats> program_stats() const { return {}; }
  virtual std::vector<MapStats> map_stats() const { return {}; }
};

}  // namespace nodepack::bpf
