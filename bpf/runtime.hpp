#pragma once

// What the BPF collectors share at run time besides the cgroup resolver: the feature probe every
// load decision asks, and the kernel's run-time statistics switched on while programs run.
// Exports nodepack_bpf_feature{feature} and nodepack_bpf_stats_enabled.

#include "bpf/bpf_stats.hpp"
#include "bpf/feature_probe.hpp"
#include "kpod/registry.hpp"

#include <prometheus/collectable.h>

#include <memory>
#include <optional>
#include <vector>

namespace nodepack::bpf {

class BpfRuntime final : public prometheus::Collectable {
 public:
  explicit BpfRuntime(std::unique_ptr<FeatureProbe> features);
  ~BpfRuntime() override;

  FeatureProbe& features() { return *features_; }
  // Every BPF collector as a registry spec (collectors.cpp's table).
  std::vector<kpod::CollectorSpec> collectors();
  // Per-program cost (nodepack_bpf_program_run_*) needs these statistics on; call once programs
  // are loaded. A kernel that refuses is logged, not fatal.
  void enable_stats();

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::unique_ptr<FeatureProbe> features_;
  std::optional<BpfStatsSession> stats_;
};

}  // namespace nodepack::bpf
