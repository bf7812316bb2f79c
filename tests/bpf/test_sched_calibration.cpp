// The sched collector's choice of variant: the order tried, narrowed by --kpod.sched.variant, and
// the decision between sched_slots and sched_info from runs counted side by side.
#include "bpf/sched/sched_calibration.hpp"
#include "bpf/sched/sched_variant.hpp"

#include <catch2/catch.hpp>

namespace nb = nodepack::bpf;
using nb::SchedPreference;
using nb::SchedVariant;

namespace {

const nb::SchedKernel kEverything{true, true, true, true};

}  // namespace

TEST_CASE("sched variants: the usual order, narrowed by the preference", "[bpf][sched]") {
  using V = std::vector<SchedVariant>;
  CHECK(nb::sched_candidates(kEverything, SchedPreference::automatic) ==
        V{SchedVariant::slots, SchedVariant::info, SchedVariant::btf, SchedVariant::raw});
  CHECK(nb::sched_candidates(kEverything, SchedPreference::slots) ==
        V{SchedVariant::slots, SchedVariant::info, SchedVariant::btf, SchedVariant::raw});
  CHECK(nb::sched_candidates(kEverything, SchedPreference::info) ==
        V{SchedVariant::info, SchedVariant::btf, SchedVariant::raw});
  CHECK(nb::sched_candidates(kEverything, SchedPreference::classic) == V{SchedVariant::btf, SchedVariant::raw});

  // What the kernel lacks is never tried: no stamps, no BTF.
  auto kernel = kEverything;
  kernel.stamps = false;
  CHECK(nb::sched_candidates(kernel, SchedPreference::automatic) == V{SchedVariant::btf, SchedVariant::raw});
  const nb::SchedKernel raw_only{false, false, true, true};
  CHECK(nb::sched_candidates(raw_only, SchedPreference::automatic) == V{SchedVariant::raw});
  CHECK(nb::sched_candidates(nb::SchedKernel{}, SchedPreference::automatic).empty());
}

TEST_CASE("sched variants: --kpod.sched.variant values and names", "[bpf][sched]") {
  CHECK(nb::parse_sched_preference("auto") == SchedPreference::automatic);
  CHECK(nb::parse_sched_preference("sched_slots") == SchedPreference::slots);
  CHECK(nb::parse_sched_preference("sched_info") == SchedPreference::info);
  CHECK(nb::parse_sched_preference("classic") == SchedPreference::classic);
  CHECK_FALSE(nb::parse_sched_preference("tp_btf").has_value());
  CHECK_FALSE(nb::parse_sched_preference("").has_value());
  CHECK(nb::sched_variant_name(SchedVariant::slots) == "sched_slots");
  CHECK(nb::sched_variant_name(SchedVariant::info) == "sched_info");
  CHECK(nb::sched_variant_name(SchedVariant::btf) == "tp_btf");
  CHECK(nb::sched_variant_name(SchedVariant::raw) == "raw_tp");
}

TEST_CASE("sched calibration: the cheaper program per run is kept", "[bpf][sched]") {
  // The second host of bench/README.md: sched_info 221 ns, sched_slots 260 ns.
  auto d = nb::decide_stamp_variant(nb::ProgramRuns{100000, 26000000}, nb::ProgramRuns{100000, 22100000}, 1000);
  CHECK(d.chosen == SchedVariant::info);
  CHECK(d.measured);
  CHECK(d.why == "measured: sched_slots 260.0 ns/run, sched_info 221.0 ns/run over 100000 and 100000 runs");
  REQUIRE(d.slots.has_value());
  CHECK(d.slots->ns_per_run() == 260.0);
  REQUIRE(d.info.has_value());
  CHECK(d.info->ns_per_run() == 221.0);

  // The first host: sched_slots 82 ns, sched_info 104 ns. Counts differ a little (the re-attach).
  d = nb::decide_stamp_variant(nb::ProgramRuns{50000, 4100000}, nb::ProgramRuns{50010, 5201040}, 1000);
  CHECK(d.chosen == SchedVariant::slots);
  CHECK(d.measured);

  // A tie keeps the usual order.
  d = nb::decide_stamp_variant(nb::ProgramRuns{2000, 200000}, nb::ProgramRuns{4000, 400000}, 1000);
  CHECK(d.chosen == SchedVariant::slots);
  CHECK(d.measured);
}

TEST_CASE("sched calibration: too few runs or no statistics keep the usual order", "[bpf][sched]") {
  // sched_info looks cheaper, but 999 runs are below the minimum: no decision on that.
  auto d = nb::decide_stamp_variant(nb::ProgramRuns{999, 99900}, nb::ProgramRuns{999, 9990}, 1000);
  CHECK(d.chosen == SchedVariant::slots);
  CHECK_FALSE(d.measured);
  CHECK(d.why == "too few runs to compare (999 and 999, want 1000)");
  d = nb::decide_stamp_variant(nb::ProgramRuns{5000, 500000}, nb::ProgramRuns{10, 100}, 1000);
  CHECK(d.chosen == SchedVariant::slots);
  CHECK_FALSE(d.measured);
  // Exactly the minimum is enough.
  d = nb::decide_stamp_variant(nb::ProgramRuns{1000, 200000}, nb::ProgramRuns{1000, 100000}, 1000);
  CHECK(d.chosen == SchedVariant::info);
  CHECK(d.measured);

  d = nb::decide_stamp_variant(std::nullopt, std::nullopt, 1000);
  CHECK(d.chosen == SchedVariant::slots);
  CHECK_FALSE(d.measured);
  CHECK(d.why == "kernel BPF run-time statistics unavailable");
  CHECK_FALSE(d.slots.has_value());
  CHECK_FALSE(d.info.has_value());
}
