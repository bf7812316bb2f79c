#pragma once

#include "bpf/collector.hpp"
#include "bpf/feature_probe.hpp"
#include "bpf/metrics.hpp"
#include "bpf/pod_series.hpp"

#include <memory>

namespace nodepack::bpf {

// kpod_cpu_runqueue_latency_seconds and kpod_cpu_context_switches_total, from sched_wakeup,
// sched_wakeup_new and sched_switch (tp_btf, or raw_tp where the kernel has no BTF for them).
class SchedCollector final : public Collector {
 public:
  struct Value {
    Log2Hist runq;
    std::uint64_t switches = 0;
    Value& operator+=(const Value& o) {
      runq += o.runq;
      switches += o.switches;
      return *this;
    }
  };

  explicit SchedCollector(FeatureProbe& features);
  ~SchedCollector() override;

  std::string_view name() const override { return "sched"; }
  Result<void> start() override;
  Result<void> collect(const ScrapeContext& ctx, std::vector<prometheus::MetricFamily>& out) override;
  std::vector<ProgramStats> program_stats() const override;
  std::vector<MapStats> map_stats() const override;

  // Which hook flavour start() chose: "tp_btf" or "raw_tp" (empty before start()).
  std::string_view variant() const { return variant_; }

  // Raw per-cgroup values, for tests.
  std::vector<std::pair<std::uint64_t, Value>> read_cgroups() const;

 private:
  struct Impl;
  FeatureProbe& features_;
  std::unique_ptr<Impl> impl_;
  std::string variant_;
  PodSeries<Value> series_;
  std::uint64_t last_entries_ = 0;
};

}  // namespace nodepack::bpf
