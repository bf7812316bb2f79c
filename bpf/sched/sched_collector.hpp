#pragma once

#include "bpf/bpf_collector.hpp"
#include "bpf/feature_probe.hpp"
#include "bpf/log2_hist.hpp"
#include "bpf/sched/sched_calibration.hpp"
#include "bpf/sched/sched_variant.hpp"
#include "bpf/skeleton.hpp"
#include "cgroup/resolver.hpp"
#include "kpod/pod_series.hpp"

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

struct sched_bpf;  // the generated skeleton (sched.skel.h)

namespace nodepack::bpf {

// kpod_cpu_runqueue_latency_seconds and kpod_cpu_context_switches_total. From sched_switch alone
// where the kernel keeps its run-queue stamps (variants sched_slots, sched_info), else from
// sched_wakeup, sched_wakeup_new and sched_switch (tp_btf, or raw_tp without BTF for them).
// Where both scheduler-stamp variants load and the preference is automatic, start() measures
// them side by side and keeps the cheaper one (sched_calibration.hpp).
struct SchedOptions {
  SchedPreference preference = SchedPreference::automatic;
  CalibrationWindow window;
  // Live pod cgroups get their sched_slots slots before the calibration, so that sched_slots is
  // measured on the path pod tasks take. Null: none (the bench gives its own).
  const cgroup::CgroupResolver* resolver = nullptr;
  // More cgroup directories given slots before the calibration (the bench's load cgroup).
  std::vector<std::filesystem::path> slot_dirs;
};

class SchedCollector final : public BpfCollector {
 public:
  struct Value {
    Log2Hist runq;
    std::uint64_t switches = 0;
    Value& operator+=(const Value& o) {
      runq += o.runq;
      switches += o.switches;
      return *this;
    }
  };

  explicit SchedCollector(FeatureProbe& features, SchedOptions options = {});
  ~SchedCollector() override;

  Result<void> start() override;
  Result<void> collect(const kpod::ScrapeContext& ctx, std::vector<prometheus::MetricFamily>& out) override;

  // What start() chose: "sched_slots", "sched_info", "tp_btf" or "raw_tp" (empty before).
  std::string_view variant() const { return variant_; }
  // The calibration's outcome, when start() ran one (both stamp variants loaded, preference auto).
  const std::optional<CalibrationDecision>& calibration() const { return calibration_; }
  // The kernel ids of the two programs it measured (sched_slots', sched_info's), for tests.
  std::pair<std::uint32_t, std::uint32_t> calibrated_program_ids() const { return calibrated_ids_; }

  // Raw per-cgroup values, for tests.
  std::vector<std::pair<std::uint64_t, Value>> read_cgroups() const;

  // sched_slots only: gives cgroup `id` its per-CPU array slot (the id's low bits), so its events
  // take the fast path. collect() does this for every live pod cgroup; false when the variant
  // has no slots or a live cgroup with the same low bits holds the slot.
  bool give_slot(std::uint64_t id);
  std::size_t slots_in_use() const;
  // Live pod cgroups refused a slot at the last pass because another cgroup held it (their events
  // stay on the hash map), and whether cgroup `id` has one.
  std::size_t slot_collisions() const;
  bool has_slot(std::uint64_t id) const;
  // The one rule for who holds a slot, at calibration and at every scrape (public for tests): each
  // live pod cgroup, except a filtered pod's (its events find the skip list instead). A slot taken
  // back from a filtered cgroup is given to another cgroup only at a later pass.
  void assign_slots(const std::vector<cgroup::CgroupResolver::LiveCgroup>& live,
                    const std::function<bool(std::uint64_t)>& filtered);
  // How a slot's per-CPU values are written into the map: bpf_map_update_elem() on the map's
  // fd, 0 or a negative errno. Replaceable so that tests can make the write fail and see that a
  // slot which could not be zeroed is neither read nor handed out until a later pass zeroes it.
  using SlotWrite = std::function<int(int map_fd, std::uint32_t index, const void* per_cpu_values)>;
  void set_slot_write(SlotWrite write);

 private:
  // Takes cgroup `id`'s slot back (zeroed, no owner); the slot's index, nothing when it had none.
  std::optional<std::uint32_t> release_slot(std::uint64_t id);
  // Loads sched_slots and sched_info, measures both, keeps the cheaper. False when sched_slots
  // did not load (`candidates` then loses it); true once one of them is kept.
  bool start_calibrated(std::vector<SchedVariant>& candidates);
  void keep(SchedVariant v, Skeleton<::sched_bpf> skel);

  struct Impl;
  FeatureProbe& features_;
  SchedOptions options_;
  std::optional<CalibrationDecision> calibration_;
  std::pair<std::uint32_t, std::uint32_t> calibrated_ids_{};
  std::unique_ptr<Impl> impl_;
  std::string variant_;
  kpod::PodSeries<Value> series_;
};

}  // namespace nodepack::bpf
