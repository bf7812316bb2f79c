#pragma once

#include "bpf/bpf_collector.hpp"
#include "bpf/feature_probe.hpp"
#include "bpf/log2_hist.hpp"

#include <map>
#include <memory>
#include <string>

namespace nodepack::bpf {

// Per node, not per pod: kpod_irq_hw_latency_seconds{irq}, kpod_irq_hw_count_total{irq},
// kpod_irq_sw_latency_seconds{vector}, from irq_handler_entry/exit and softirq_entry/exit.
class IrqCollector final : public BpfCollector {
 public:
  explicit IrqCollector(FeatureProbe& features);
  ~IrqCollector() override;

  Result<void> start() override;
  Result<void> collect(const kpod::ScrapeContext& ctx, std::vector<prometheus::MetricFamily>& out) override;

  std::map<std::string, Log2Hist> read_hard() const;
  std::map<std::string, Log2Hist> read_soft() const;

 private:
  struct Impl;
  FeatureProbe& features_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nodepack::bpf
