#include "bpf/runtime.hpp"

#include "bpf/collectors.hpp"
#include "metrics/family.hpp"

#include <spdlog/spdlog.h>

namespace nodepack::bpf {

BpfRuntime::BpfRuntime(std::unique_ptr<FeatureProbe> features) : features_(std::move(features)) {}
BpfRuntime::~BpfRuntime() = default;

std::vector<kpod::CollectorSpec> BpfRuntime::collectors() { return bpf_collectors(*features_); }

void BpfRuntime::enable_stats() {
  if (stats_ || !features_->supports("bpf_stats")) {
    return;
  }
  auto s = BpfStatsSession::enable();
  if (s) {
    stats_.emplace(std::move(*s));
  } else {
    spdlog::warn("per-program BPF cost metrics unavailable: {}", s.error().message);
  }
}

std::vector<prometheus::MetricFamily> BpfRuntime::Collect() const {
  auto features =
      metrics::Family::gauge("nodepack_bpf_feature", "Kernel BPF features as probed at start-up (1 available)");
  for (const auto& [f, ok] : features_->answers()) {
    features.add({{"feature", f}}, ok ? 1.0 : 0.0);
  }
  auto stats_on = metrics::Family::gauge("nodepack_bpf_stats_enabled",
                                         "Whether kernel BPF run-time statistics are on for nodepack's programs");
  stats_on.add({}, stats_ ? 1.0 : 0.0);
  std::vector<prometheus::MetricFamily> out;
  metrics::emit(out, features, stats_on);
  return out;
}

}  // namespace nodepack::bpf
