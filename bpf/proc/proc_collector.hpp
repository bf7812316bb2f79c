#pragma once

#include "bpf/collector.hpp"
#include "bpf/feature_probe.hpp"
#include "bpf/pod_series.hpp"

#include <memory>

namespace nodepack::bpf {

// kpod_proc_execs_total, kpod_proc_forks_total, kpod_proc_exits_total from
// sched_process_exec/fork/exit.
class ProcCollector final : public Collector {
 public:
  struct Value {
    std::uint64_t execs = 0, forks = 0, exits = 0;
    Value& operator+=(const Value& o) {
      execs += o.execs;
      forks += o.forks;
      exits += o.exits;
      return *this;
    }
  };

  explicit ProcCollector(FeatureProbe& features);
  ~ProcCollector() override;

  std::string_view name() const override { return "proc"; }
  Result<void> start() override;
  Result<void> collect(const ScrapeContext& ctx, std::vector<prometheus::MetricFamily>& out) override;
  std::vector<ProgramStats> program_stats() const override;
  std::vector<MapStats> map_stats() const override;

  std::vector<std::pair<std::uint64_t, Value>> read_cgroups() const;

 private:
  struct Impl;
  FeatureProbe& features_;
  std::unique_ptr<Impl> impl_;
  PodSeries<Value> series_;
  std::uint64_t last_entries_ = 0;
};

}  // namespace nodepack::bpf
