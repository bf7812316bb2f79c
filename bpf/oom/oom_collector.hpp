#pragma once

#include "bpf/collector.hpp"
#include "bpf/feature_probe.hpp"
#include "bpf/pod_series.hpp"

#include <memory>

namespace nodepack::bpf {

// kpod_mem_oom_kills_total from the oom:mark_victim tracepoint, charged to the victim.
class OomCollector final : public Collector {
 public:
  struct Value {
    std::uint64_t kills = 0;
    Value& operator+=(const Value& o) {
      kills += o.kills;
      return *this;
    }
  };

  explicit OomCollector(FeatureProbe& features);
  ~OomCollector() override;

  std::string_view name() const override { return "oom"; }
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
