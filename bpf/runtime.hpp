#pragma once

// What the BPF collectors share at run time besides the cgroup resolver: the feature probe every
// load decision asks, and the kernel's run-time statistics, switched on and off by the agent.
// Exports nodepack_bpf_feature{feature}, nodepack_bpf_stats_enabled and
// nodepack_bpf_stats_enabled_seconds_total.

#include "bpf/bpf_stats.hpp"
#include "bpf/feature_probe.hpp"
#include "common/clock.hpp"
#include "kpod/registry.hpp"

#include <prometheus/collectable.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace nodepack::bpf {

class BpfRuntime final : public prometheus::Collectable {
 public:
  explicit BpfRuntime(std::unique_ptr<FeatureProbe> features, const Clock& clock = SystemClock::instance());
  ~BpfRuntime() override;

  FeatureProbe& features() { return *features_; }
  // Every BPF collector as a registry spec (collectors.cpp's table).
  std::vector<kpod::CollectorSpec> collectors();
  // Per-program cost (nodepack_bpf_program_run_*) is counted only while these statistics are on.
  // While anyone keeps them on, the kernel reads its clock around every run of every BPF program
  // on the host, ours or not (33–48 ns a run here: bench/README.md), hence off as well as on.
  // A kernel that refuses is logged once, not fatal; returns whether they are on now. Safe to call
  // while another thread collects.
  bool set_stats(bool on);
  // On for good (tests, benches).
  void enable_stats() { set_stats(true); }

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::unique_ptr<FeatureProbe> features_;
  const Clock& clock_;
  mutable std::mutex mutex_;  // guards what follows: the agent switches, the scrape reads
  std::optional<BpfStatsSession> stats_;
  std::chrono::steady_clock::time_point on_since_;
  std::chrono::steady_clock::duration on_before_{};  // summed over the windows that ended
  bool refusal_logged_ = false;
};

}  // namespace nodepack::bpf
