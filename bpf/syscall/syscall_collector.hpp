#pragma once

#include "bpf/bpf_collector.hpp"
#include "bpf/feature_probe.hpp"
#include "bpf/log2_hist.hpp"
#include "kpod/pod_series.hpp"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace nodepack::bpf {

// kpod_syscall_count_total, kpod_syscall_errors_total, kpod_syscall_latency_seconds with a
// `syscall` label, for the tracked syscalls only (raw_syscalls sys_enter/sys_exit).
class SyscallCollector final : public BpfCollector {
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

  Result<void> start() override;
  Result<void> collect(const kpod::ScrapeContext& ctx, std::vector<prometheus::MetricFamily>& out) override;

  std::vector<std::pair<std::uint64_t, Value>> read_cgroups() const;

 private:
  struct Impl;
  FeatureProbe& features_;
  std::vector<std::string> tracked_;
  std::unique_ptr<Impl> impl_;
  kpod::PodSeries<Value> series_;
};

}  // namespace nodepack::bpf
