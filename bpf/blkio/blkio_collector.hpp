#pragma once

#include "bpf/collector.hpp"
#include "bpf/feature_probe.hpp"
#include "bpf/metrics.hpp"
#include "bpf/pod_series.hpp"

#include <memory>

namespace nodepack::bpf {

// kpod_disk_io_latency_seconds: block request issue → completion per pod (the request's blkcg).
// On hosts whose io controller is still on cgroup v1 the blkcg is a v1 cgroup that no pod
// resolves to, so the series stay empty there; on cgroup v2 it is the container's cgroup.
class BlkioCollector final : public Collector {
 public:
  struct Value {
    Log2Hist latency;
    Value& operator+=(const Value& o) {
      latency += o.latency;
      return *this;
    }
  };

  explicit BlkioCollector(FeatureProbe& features);
  ~BlkioCollector() override;

  std::string_view name() const override { return "blkio"; }
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
