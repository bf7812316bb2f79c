#include "bpf/runtime.hpp"

#include "bpf/collectors.hpp"
#include "metrics/family.hpp"

#include <spdlog/spdlog.h>

#include <utility>

namespace nodepack::bpf {

BpfRuntime::BpfRuntime(std::unique_ptr<FeatureProbe> features, const Clock& clock)
    : features_(std::move(features)), clock_(clock) {}
BpfRuntime::~BpfRuntime() = default;

std::vector<kpod::CollectorSpec> BpfRuntime::collectors() { return bpf_collectors(*features_); }

bool BpfRuntime::set_stats(bool on) {
  std::lock_guard lock(mutex_);
  if (on == stats_.has_value()) {
    return on;
  }
  const auto now = clock_.steady_now();
  if (!on) {
    stats_.reset();  // closes the fd: the kernel stops counting once no holder is left
    on_before_ += now - on_since_;
    return false;
  }
  if (!features_->supports("bpf_stats")) {
    return false;
  }
  auto s = BpfStatsSession::enable();
  if (!s) {
    if (!std::exchange(refusal_logged_, true)) {
      spdlog::warn("per-program BPF cost metrics unavailable: {}", s.error().message);
    }
    return false;
  }
  stats_.emplace(std::move(*s));
  on_since_ = now;
  return true;
}

std::vector<prometheus::MetricFamily> BpfRuntime::Collect() const {
  auto features =
      metrics::Family::gauge("nodepack_bpf_feature", "Kernel BPF features as probed at start-up (1 available)");
  for (const auto& [f, ok] : features_->answers()) {
    features.add({{"feature", f}}, ok ? 1.0 : 0.0);
  }
  bool on = false;
  std::chrono::steady_clock::duration on_for{};
  {
    std::lock_guard lock(mutex_);
    on = stats_.has_value();
    on_for = on_before_ + (on ? clock_.steady_now() - on_since_ : std::chrono::steady_clock::duration{});
  }
  auto stats_on = metrics::Family::gauge("nodepack_bpf_stats_enabled",
                                         "Whether kernel BPF run-time statistics are on for nodepack's programs now");
  stats_on.add({}, on ? 1.0 : 0.0);
  auto on_seconds = metrics::Family::counter(
      "nodepack_bpf_stats_enabled_seconds_total",
      "Time kernel BPF run-time statistics have been on: nodepack_bpf_program_run_* count only then");
  on_seconds.add({}, std::chrono::duration<double>(on_for).count());
  std::vector<prometheus::MetricFamily> out;
  metrics::emit(out, features, stats_on, on_seconds);
  return out;
}

}  // namespace nodepack::bpf
