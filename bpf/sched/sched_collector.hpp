#pragma once

#include "bpf/bpf_collector.hpp"
#include "bpf/feature_probe.hpp"
#include "bpf/log2_hist.hpp"
#include "kpod/pod_series.hpp"

#include <filesystem>
#include <memory>

namespace nodepack::bpf {

// kpod_cpu_runqueue_latency_seconds and kpod_cpu_context_switches_total. From sched_switch alone
// where the kernel keeps its run-queue stamps (variants sched_slots, sched_info), else from
// sched_wakeup, sched_wakeup_new and sched_switch (tp_btf, or raw_tp without BTF for them).
class SchedCollector final : public BpfCollector {
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

  Result<void> start() override;
  Result<void> collect(const kpod::ScrapeContext& ctx, std::vector<prometheus::MetricFamily>& out) override;

  // What start() chose: "sched_slots", "sched_info", "tp_btf" or "raw_tp" (empty before).
  std::string_view variant() const { return variant_; }

  // Raw per-cgroup values, for tests.
  std::vector<std::pair<std::uint64_t, Value>> read_cgroups() const;

  // sched_slots only: gives cgroup `id` (directory `dir`) a per-CPU array slot, so its events
  // take the fast path. collect() does this for every live pod cgroup; false when the variant
  // has no slots, none is free, or the cgroup cannot be opened.
  bool give_slot(std::uint64_t id, const std::filesystem::path& dir);
  std::size_t slots_in_use() const;

 private:
  void release_slot(std::uint64_t id);

  struct Impl;
  FeatureProbe& features_;
  std::unique_ptr<Impl> impl_;
  std::string variant_;
  kpod::PodSeries<Value> series_;
};

}  // namespace nodepack::bpf
