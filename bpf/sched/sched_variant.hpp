#pragma once

// Which sched programs to load: the variants (sched.bpf.c), the order they are tried in, and the
// --kpod.sched.variant setting that narrows it. Pure: the kernel's answers come in as booleans.

#include <optional>
#include <string_view>
#include <vector>

namespace nodepack::bpf {

enum class SchedVariant { slots, info, btf, raw };

// "sched_slots", "sched_info", "tp_btf", "raw_tp": what SchedCollector::variant() reports.
std::string_view sched_variant_name(SchedVariant v);

// What the feature probe said about this kernel.
struct SchedKernel {
  bool tp_btf_switch = false;   // tp_btf:sched_switch
  bool tp_btf_wakeups = false;  // tp_btf:sched_wakeup and tp_btf:sched_wakeup_new
  bool stamps = false;          // sched_info: the scheduler's run-queue stamps are kept
  bool raw_tp = false;
};

// --kpod.sched.variant. `automatic`: where both scheduler-stamp variants load, the cheaper one as
// measured at start-up (sched_calibration.hpp); otherwise a starting point in the usual order.
enum class SchedPreference { automatic, slots, info, classic };

// "auto", "sched_slots", "sched_info", "classic"; nullopt for anything else.
std::optional<SchedPreference> parse_sched_preference(std::string_view text);

// The variants to try, best first: sched_slots, sched_info, tp_btf, raw_tp, less those the
// kernel does not allow and those above the preference (sched_info: no sched_slots; classic:
// only tp_btf and raw_tp). A variant the verifier refuses after all falls to the next.
std::vector<SchedVariant> sched_candidates(const SchedKernel& kernel, SchedPreference preference);

}  // namespace nodepack::bpf
