#pragma once

#include "bpf/collector.hpp"
#include "bpf/feature_probe.hpp"
#include "bpf/metrics.hpp"
#include "bpf/pod_series.hpp"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace nodepack::bpf {

// kpod_syscall_count_total, kpod_syscall_errors_total, kpod_syscall_latency_seconds with a
// `syscall` label, for the tracked syscalls only (raw_syscalls sys_enter/sys_exit).
class SyscallCollector final : public Collector {
 public:
  struct PerSyscall {
    std::uint64_t errors = 0;
    Log2Hist latency;
  };
  struct Value {
    std::map<int, PerSyscall> by_nr;
    Value& operator+=(const Value& o) {
      for (const auto& [nr, v] : o.by_nr) {
        auto& mine = by_nr[nr];
        mine.errors += v.errors;
        mine.latency += v.latency;
      }
      return *this;
    }
  };

  SyscallCollector(FeatureProbe& features, std::vector<std::string> tracked);
  ~SyscallCollector() override;

  std::string_view name() const override { return "syscall"; }
  Result<void> start() override;
  Result<void> collect(const ScrapeContext& ctx, std::vector<prometheus::MetricFamily>& out) override;
  std::vector<ProgramStats> program_stats() const override;
  std::vector<MapStats> map_stats() const override;

  std::vector<std::pair<std::uint64_t, Value>> read_cgroups() const;

 private:
  struct Impl;
  FeatureProbe& features_;
  std::vector<std::string> tracked_;
  std::unique_ptr<Impl> impl_;
  PodSeries<Value> series_;
  std::uint64_t last_entries_ = 0;
};

}  // namespace nodepack::bpf
