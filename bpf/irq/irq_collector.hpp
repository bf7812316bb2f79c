#pragma once

#include "bpf/collector.hpp"
#include "bpf/feature_probe.hpp"
#include "bpf/metrics.hpp"

#include <map>
#include <memory>
#include <string>

namespace nodepack::bpf {

// Per node, not per pod: kpod_irq_hw_latency_seconds{irq}, kpod_irq_hw_count_total{irq},
// kpod_irq_sw_latency_seconds{vector}, from irq_handler_entry/exit and softirq_entry/exit.
class IrqCollector final : public Collector {
 public:
  explicit IrqCollector(FeatureProbe& features);
  ~IrqCollector() override;

  std::string_view name() const override { return "irq"; }
  Result<void> start() override;
  Result<void> collect(const ScrapeContext& ctx, std::vector<prometheus::MetricFamily>& out) override;
  std::vector<ProgramStats> program_stats() const override;
  std::vector<MapStats> map_stats() const override;

  std::map<std::string, Log2Hist> read_hard() const;
  std::map<std::string, Log2Hist> read_soft() const;

 private:
  struct Impl;
  FeatureProbe& features_;
  std::unique_ptr<Impl> impl_;
  std::uint64_t last_entries_ = 0;
};

}  // namespace nodepack::bpf
