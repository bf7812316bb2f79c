#pragma once

#include "common/host_paths.hpp"
#include "kpod/collector.hpp"
#include "kpod/pod_series.hpp"

#include <array>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace nodepack::kpod {

// Per-container cgroup v2 files, no BPF: memory.current/peak/stat, memory.swap.current, io.stat,
// cpu.stat, pids.current. The working set is memory.current minus inactive_file, as the kubelet
// computes it for eviction and `kubectl top`. A file that does not exist (controller not enabled, older kernel) is
// "no data", not an error. Cgroup v1-only hosts give nothing here.
class CgroupFsCollector final : public Collector {
 public:
  struct IoCounts {
    std::uint64_t rbytes = 0, wbytes = 0, rios = 0, wios = 0;
  };
  // Counters, kept monotonic across container restarts through PodSeries.
  struct Counters {
    std::map<std::string, IoCounts> io;  // by "major:minor"
    std::uint64_t pgmajfault = 0;
    std::uint64_t pgfault = 0;
    std::uint64_t cpu_usage_usec = 0, cpu_throttled_usec = 0, cpu_nr_throttled = 0;
    Counters& operator+=(const Counters& o);
  };

  explicit CgroupFsCollector(HostPaths paths);

  Result<void> start() override;
  Result<void> collect(const ScrapeContext& ctx, std::vector<prometheus::MetricFamily>& out) override;
  std::optional<std::uint64_t> cgroup_read_errors() const override { return read_errors_; }

 private:
  std::string device_name(const std::string& major_minor);

  HostPaths paths_;
  PodSeries<Counters> series_;
  std::unordered_map<std::uint64_t, Counters> last_counters_;  // last read of each live cgroup
  std::uint64_t read_errors_ = 0;
  std::unordered_map<std::string, std::string> device_names_;
};

// File parsers, exposed for tests.
std::map<std::string, std::uint64_t, std::less<>> parse_flat_keyed(std::string_view text);
std::map<std::string, CgroupFsCollector::IoCounts> parse_io_stat(std::string_view text);
std::optional<std::uint64_t> parse_single_value(std::string_view text);  // nullopt for "max"/garbage

}  // namespace nodepack::kpod
