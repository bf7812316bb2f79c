#pragma once

// Choosing between the two scheduler-stamp variants by measuring them (--kpod.sched.variant=auto).
// The same switch program costs very different amounts on different hosts (bench/README.md:
// sched_slots cheaper on one, sched_info on another, with the same code), so at start-up both
// are attached to sched_switch for a short window with kernel run-time statistics on, and the
// one with fewer ns per run stays. The decision is a pure function of the counted runs; the
// measuring reads the kernel.

#include "bpf/sched/sched_variant.hpp"

#include <bpf/libbpf.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace nodepack::bpf {

// A program's runs and their time over the window (kernel run_cnt and run_time_ns deltas).
struct ProgramRuns {
  std::uint64_t run_cnt = 0;
  std::uint64_t run_time_ns = 0;
  double ns_per_run() const {
    return run_cnt == 0 ? 0.0 : static_cast<double>(run_time_ns) / static_cast<double>(run_cnt);
  }
};

struct CalibrationWindow {
  // Each half of the window ends after this long, or once both programs ran enough_runs times
  // in it. The programs run in one order in the first half and the other in the second, so
  // neither is always the one finding caches warmed by the other.
  std::chrono::milliseconds half{500};
  std::uint64_t enough_runs = 20000;
  std::chrono::milliseconds poll{50};
  // Fewer runs than this for either program over the whole window: no decision (too noisy).
  std::uint64_t min_runs = 1000;
};

struct CalibrationDecision {
  SchedVariant chosen = SchedVariant::slots;
  bool measured = false;  // false: the usual order decided (sched_slots), for `why`
  std::string why;
  // As counted (also when too few), for the log and nodepack_bpf_calibration_ns_per_run.
  std::optional<ProgramRuns> slots, info;
};

// sched_slots vs sched_info from their runs under the same events. nullopt: run-time statistics
// could not be switched on. Without statistics or with fewer than `min_runs` runs of either,
// sched_slots as before; otherwise the one with fewer ns per run, sched_slots on a tie.
CalibrationDecision decide_stamp_variant(const std::optional<ProgramRuns>& slots,
                                         const std::optional<ProgramRuns>& info, std::uint64_t min_runs);

// A program attached to the tracepoint under calibration, and its link (replaced when it is
// re-attached; null if that failed).
struct AttachedProgram {
  bpf_program* program;
  bpf_link** link;
};

struct MeasuredPair {
  ProgramRuns first, second;
};

// Both programs must be attached already, `first` before `second`. Switches kernel BPF run-time
// statistics on through a BPF_ENABLE_STATS fd for the window only (never the sysctl; other
// holders keep theirs), waits for the first half, re-attaches `first` so it runs second, waits
// for the second half. nullopt when statistics cannot be switched on. Blocks the calling thread
// for at most 2 × window.half (plus a re-attach).
std::optional<MeasuredPair> measure_side_by_side(AttachedProgram first, AttachedProgram second,
                                                 const CalibrationWindow& window);

}  // namespace nodepack::bpf
