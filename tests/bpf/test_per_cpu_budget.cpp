// Per-CPU maps sized to a memory budget before they load (bpf/per_cpu_budget.hpp), asserted on
// the real sched object opened but not loaded: no kernel, no privileges.
#include "bpf/per_cpu_budget.hpp"
#include "bpf/sched/sched.h"

#include "sched.skel.h"

#include <catch2/catch.hpp>

#include <memory>

namespace nb = nodepack::bpf;

namespace {

struct SchedObject {
  sched_bpf* skel = sched_bpf__open();
  ~SchedObject() { sched_bpf__destroy(skel); }
};

constexpr std::size_t kValue = sizeof(sched_cg_stats);  // a multiple of 8: no rounding

}  // namespace

TEST_CASE("a per-CPU map keeps its size until its values pass the budget, then shrinks to fit") {
  const nb::PerCpuBudget budget{.bytes_per_map = 16 << 20, .min_entries = 256};
  // 4,096 values of 320 bytes fit 16 MiB up to 12 CPUs.
  CHECK(nb::entries_within(budget, 4096, 320, 2) == 4096);
  CHECK(nb::entries_within(budget, 4096, 320, 12) == 4096);
  CHECK(nb::entries_within(budget, 4096, 320, 13) == (16u << 20) / (320 * 13));
  CHECK(nb::entries_within(budget, 4096, 320, 64) == 819);
  // Never below the minimum, nor above what the map asked for.
  CHECK(nb::entries_within(budget, 4096, 320, 4096) == 256);
  CHECK(nb::entries_within(budget, 100, 320, 4096) == 100);
  // The kernel rounds a CPU's copy of a value up to 8 bytes: 4 bytes cost 8.
  CHECK(nb::entries_within({.bytes_per_map = 8 * 2 * 1000, .min_entries = 1}, 4096, 4, 2) == 1000);
}

TEST_CASE("an object's per-CPU hash maps are fitted, other maps and index arrays left alone") {
  SchedObject sched;
  REQUIRE(sched.skel != nullptr);
  auto* s = sched.skel;
  const nb::PerCpuBudget budget{.bytes_per_map = 4096 * kValue * 8, .min_entries = 256};

  // Eight CPUs: everything fits as it is.
  CHECK(nb::fit_per_cpu_hash_maps(s->obj, 8, budget).empty());
  CHECK(bpf_map__max_entries(s->maps.cg_stats) == SCHED_MAX_CGROUPS);

  // Sixty-four: the LRU per-CPU hash of cgroups gets an eighth; the per-CPU array of slots,
  // indexed by the collector, only when asked for; plain hashes and storages never.
  const auto resized = nb::fit_per_cpu_hash_maps(s->obj, 64, budget);
  REQUIRE(resized.size() == 1);
  CHECK(resized[0].name == "cg_stats");
  CHECK(resized[0].from == SCHED_MAX_CGROUPS);
  CHECK(resized[0].to == SCHED_MAX_CGROUPS / 8);
  CHECK(resized[0].budget_bytes == budget.bytes_per_map);
  CHECK(bpf_map__max_entries(s->maps.cg_stats) == SCHED_MAX_CGROUPS / 8);
  CHECK(bpf_map__max_entries(s->maps.cg_slots) == SCHED_MAX_SLOTS);
  CHECK(bpf_map__max_entries(s->maps.waiting) == SCHED_MAX_WAITING);

  const auto slots = nb::fit_per_cpu_array(s->maps.cg_slots, 64, budget);
  REQUIRE(slots.has_value());
  CHECK(slots->from == SCHED_MAX_SLOTS);
  CHECK(slots->to == 4096 / 8);
  CHECK(bpf_map__max_entries(s->maps.cg_slots) == 4096 / 8);
  CHECK_FALSE(nb::fit_per_cpu_array(s->maps.waiting, 64, budget).has_value());  // not a per-CPU array

  // A map the collector does not create costs nothing and is not touched.
  bpf_map__set_autocreate(s->maps.cg_slots, false);
  CHECK_FALSE(nb::fit_per_cpu_array(s->maps.cg_slots, 4096, budget).has_value());
}
