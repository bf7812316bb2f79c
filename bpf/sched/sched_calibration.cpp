#include "bpf/sched/sched_calibration.hpp"

#include "bpf/bpf_stats.hpp"

#include <bpf/bpf.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <thread>

namespace nodepack::bpf {

CalibrationDecision decide_stamp_variant(const std::optional<ProgramRuns>& slots,
                                         const std::optional<ProgramRuns>& info, std::uint64_t min_runs) {
  CalibrationDecision d;
  d.slots = slots;
  d.info = info;
  if (!slots || !info) {
    d.why = "kernel BPF run-time statistics unavailable";
    return d;
  }
  if (slots->run_cnt < min_runs || info->run_cnt < min_runs) {
    d.why = fmt::format("too few runs to compare ({} and {}, want {})", slots->run_cnt, info->run_cnt, min_runs);
    return d;
  }
  d.measured = true;
  if (info->ns_per_run() < slots->ns_per_run()) {
    d.chosen = SchedVariant::info;
  }
  d.why = fmt::format("measured: sched_slots {:.1f} ns/run, sched_info {:.1f} ns/run over {} and {} runs",
                      slots->ns_per_run(), info->ns_per_run(), slots->run_cnt, info->run_cnt);
  return d;
}

namespace {

ProgramRuns runs_of(bpf_program* program) {
  bpf_prog_info info{};
  __u32 len = sizeof(info);
  if (bpf_obj_get_info_by_fd(bpf_program__fd(program), &info, &len) != 0) {
    return {};
  }
  return {info.run_cnt, info.run_time_ns};
}

ProgramRuns since(const ProgramRuns& now, const ProgramRuns& then) {
  return {now.run_cnt - then.run_cnt, now.run_time_ns - then.run_time_ns};
}

ProgramRuns& operator+=(ProgramRuns& a, const ProgramRuns& b) {
  a.run_cnt += b.run_cnt;
  a.run_time_ns += b.run_time_ns;
  return a;
}

// Waits until both programs ran window.enough_runs times since the half began, or half is over;
// adds this half's runs to `first` and `second`.
void wait_half(AttachedProgram a, AttachedProgram b, const CalibrationWindow& window, MeasuredPair& total) {
  const auto a0 = runs_of(a.program), b0 = runs_of(b.program);
  const auto end = std::chrono::steady_clock::now() + window.half;
  ProgramRuns da, db;
  for (;;) {
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        window.poll, std::max<std::chrono::steady_clock::duration>(end - std::chrono::steady_clock::now(), {})));
    da = since(runs_of(a.program), a0);
    db = since(runs_of(b.program), b0);
    if (std::chrono::steady_clock::now() >= end ||
        (da.run_cnt >= window.enough_runs && db.run_cnt >= window.enough_runs)) {
      break;
    }
  }
  total.first += da;
  total.second += db;
}

}  // namespace

std::optional<MeasuredPair> measure_side_by_side(AttachedProgram first, AttachedProgram second,
                                                 const CalibrationWindow& window) {
  auto stats = BpfStatsSession::enable();
  if (!stats) {
    spdlog::debug("sched calibration: {}", stats.error().message);
    return std::nullopt;
  }
  MeasuredPair total;
  wait_half(first, second, window, total);
  // A tracepoint runs its programs in the order they were attached: re-attaching `first` puts
  // it behind `second` for the second half. It misses the events of that instant.
  bpf_link__destroy(*first.link);
  *first.link = bpf_program__attach(first.program);
  if (*first.link == nullptr) {
    spdlog::warn("sched calibration: re-attaching {} failed", bpf_program__name(first.program));
    return total;  // the first half alone still compares them under the same events
  }
  wait_half(first, second, window, total);
  return total;
}

}  // namespace nodepack::bpf
