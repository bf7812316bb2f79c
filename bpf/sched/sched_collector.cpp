#include "bpf/sched/sched_collector.hpp"

#include "bpf/cgroup_map_collector.hpp"
#include "bpf/collectors.hpp"
#include "bpf/map_reader.hpp"
#include "bpf/sched/sched.h"
#include "bpf/skip_cgroups.hpp"

#include "sched.skel.h"

#include <bpf/bpf.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <bit>
#include <map>
#include <optional>
#include <unordered_map>
#include <unordered_set>

namespace nodepack::bpf {

struct SchedCollector::Impl {
  sched_bpf* skel = nullptr;  // owned by the collector's LoadedObject
  bool slots = false;
  std::map<std::uint32_t, std::uint64_t> owner_of;           // index in cg_slots → cgroup id, in index order
  std::unordered_map<std::uint64_t, std::uint32_t> slot_of;  // the same, by cgroup id
  std::size_t collisions = 0;           // live pod cgroups refused a slot at the last pass: another had it
  std::vector<std::uint32_t> unzeroed;  // slots whose zeroing failed when their owner went: kept out of use
  SchedCollector::SlotWrite write = [](int fd, std::uint32_t index, const void* values) {
    return bpf_map_update_elem(fd, &index, values, BPF_ANY);
  };
  std::uint32_t index_of(std::uint64_t id) const { return static_cast<std::uint32_t>(id) & skel->rodata->slot_mask; }
  // Writes `owner` and zero counts into slot `index` on every CPU.
  bool reset_slot(std::uint32_t index, std::uint64_t owner) const {
    std::vector<sched_cg_stats> values(static_cast<std::size_t>(possible_cpus()));
    for (auto& v : values) {
      v.owner = owner;
    }
    return write(bpf_map__fd(skel->maps.cg_slots), index, values.data()) == 0;
  }
};

SchedCollector::SchedCollector(FeatureProbe& features, SchedOptions options)
    : features_(features), options_(std::move(options)) {}
SchedCollector::~SchedCollector() = default;

namespace {

// Opens, loads and attaches the programs and maps of one variant.
Result<Skeleton<sched_bpf>> load_variant(SchedVariant v) {
  return load_skeleton<sched_bpf>([v](sched_bpf* s) {
    const bool slots = v == SchedVariant::slots, info = slots || v == SchedVariant::info, btf = v == SchedVariant::btf,
               raw = v == SchedVariant::raw;
    bpf_program__set_autoload(s->progs.sched_switch_slots, slots);
    bpf_program__set_autoload(s->progs.sched_switch_info, info && !slots);
    bpf_map__set_autocreate(s->maps.preempted, info);
    bpf_map__set_autocreate(s->maps.cg_slots, slots);
    if (auto resized = fit_per_cpu_array(s->maps.cg_slots, possible_cpus())) {
      log_resized({*resized});
    }
    // A cgroup's slot is the low bits of its id: the array's size must be a power of two.
    const auto entries = std::bit_floor(bpf_map__max_entries(s->maps.cg_slots));
    bpf_map__set_max_entries(s->maps.cg_slots, entries);
    s->rodata->slot_mask = entries - 1;
    for (auto* prog : {s->progs.sched_wakeup_btf, s->progs.sched_wakeup_new_btf, s->progs.sched_switch_btf}) {
      bpf_program__set_autoload(prog, btf);
    }
    for (auto* prog : {s->progs.sched_wakeup_raw, s->progs.sched_wakeup_new_raw, s->progs.sched_switch_raw}) {
      bpf_program__set_autoload(prog, raw);
    }
    // Only the wait-start store the chosen programs use is created.
    bpf_map__set_autocreate(s->maps.task_enqueued, btf);
    bpf_map__set_autocreate(s->maps.waiting, raw);
  });
}

std::string_view name(SchedVariant v) { return sched_variant_name(v); }

std::uint32_t program_id(const bpf_program* program) {
  bpf_prog_info info{};
  __u32 len = sizeof(info);
  return bpf_obj_get_info_by_fd(bpf_program__fd(program), &info, &len) == 0 ? info.id : 0;
}

}  // namespace

void SchedCollector::keep(SchedVariant v, Skeleton<sched_bpf> skel) {
  variant_ = std::string(name(v));
  auto shared = std::make_shared<Skeleton<sched_bpf>>(std::move(skel));
  impl_ = std::make_unique<Impl>();
  impl_->skel = shared->get();
  impl_->slots = v == SchedVariant::slots;
  adopt(LoadedObject(std::move(shared)));
}

bool SchedCollector::start_calibrated(std::vector<SchedVariant>& candidates) {
  auto slots = load_variant(SchedVariant::slots);
  if (!slots) {
    spdlog::warn("bpf collector sched: variant sched_slots did not load ({}), trying the next", slots.error().message);
    candidates.erase(candidates.begin());
    return false;
  }
  auto info = load_variant(SchedVariant::info);
  if (!info) {
    spdlog::warn("bpf collector sched: variant sched_info did not load ({}), keeping sched_slots",
                 info.error().message);
    keep(SchedVariant::slots, std::move(*slots));
    return true;
  }
  // Pod cgroups take the slot path in sched_slots from the first scrape on: measure it so.
  keep(SchedVariant::slots, std::move(*slots));
  if (options_.resolver != nullptr) {
    assign_slots(*options_.resolver->live_dirs(), [](std::uint64_t id) { return SkipCgroups::shared().contains(id); });
  }
  for (const auto& dir : options_.slot_dirs) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) == 0) {
      give_slot(st.st_ino);
    }
  }
  sched_bpf* s = impl_->skel;
  calibrated_ids_ = {program_id(s->progs.sched_switch_slots), program_id((*info)->progs.sched_switch_info)};
  auto measured =
      measure_side_by_side({s->progs.sched_switch_slots, &s->links.sched_switch_slots},
                           {(*info)->progs.sched_switch_info, &(*info)->links.sched_switch_info}, options_.window);
  auto slots_runs = measured ? std::optional<ProgramRuns>(measured->first) : std::nullopt;
  auto info_runs = measured ? std::optional<ProgramRuns>(measured->second) : std::nullopt;
  calibration_ = decide_stamp_variant(slots_runs, info_runs, options_.window.min_runs);
  if (s->links.sched_switch_slots == nullptr) {
    calibration_->chosen = SchedVariant::info;  // its re-attach failed: the other one is attached
  }
  spdlog::info("bpf collector sched: {} chosen by calibration ({})", name(calibration_->chosen), calibration_->why);
  if (calibration_->chosen == SchedVariant::info) {
    keep(SchedVariant::info, std::move(*info));  // frees sched_slots and its slots
  }
  // Otherwise `info` is detached and freed as it goes out of scope.
  spdlog::info("bpf collector sched: attached ({})", variant_);
  return true;
}

Result<void> SchedCollector::start() {
  // Preferred: one program reading the scheduler's own enqueue stamps (see sched.bpf.c), the two
  // forms of it measured against each other where both load. A variant the verifier of this
  // kernel refuses after all falls back to the next one.
  const SchedKernel kernel{features_.supports("tp_btf:sched_switch"),
                           features_.supports("tp_btf:sched_wakeup") && features_.supports("tp_btf:sched_wakeup_new"),
                           features_.supports("sched_info"), features_.supports("raw_tp")};
  auto candidates = sched_candidates(kernel, options_.preference);
  if (candidates.empty()) {
    return fail("kernel takes neither tp_btf nor raw_tp programs");
  }
  if (options_.preference == SchedPreference::automatic && candidates.size() >= 2 &&
      candidates[0] == SchedVariant::slots && candidates[1] == SchedVariant::info && start_calibrated(candidates)) {
    return {};
  }
  std::string why;
  for (auto v : candidates) {
    auto skel = load_variant(v);
    if (!skel) {
      why = std::string(name(v)) + ": " + skel.error().message;
      spdlog::warn("bpf collector sched: variant {} did not load ({}), trying the next", name(v), skel.error().message);
      continue;
    }
    keep(v, std::move(*skel));
    spdlog::info("bpf collector sched: attached ({})", variant_);
    return {};
  }
  return fail("no variant loaded; last: " + why);
}

bool SchedCollector::give_slot(std::uint64_t id) {
  if (!impl_ || !impl_->slots) {
    return false;
  }
  if (impl_->slot_of.contains(id)) {
    return true;
  }
  const std::uint32_t index = impl_->index_of(id);
  if (impl_->owner_of.contains(index)) {
    ++impl_->collisions;  // a cgroup with the same low bits has it: this one stays on the hash map
    return false;
  }
  if (!impl_->reset_slot(index, id)) {
    return false;
  }
  impl_->owner_of.emplace(index, id);
  impl_->slot_of.emplace(id, index);
  return true;
}

void SchedCollector::assign_slots(const std::vector<cgroup::CgroupResolver::LiveCgroup>& live,
                                  const std::function<bool(std::uint64_t)>& filtered) {
  impl_->collisions = 0;
  // A slot taken back here goes to no one before the next pass: a switch program that found the
  // old owner just before the slot was zeroed may still add its event, and the seconds until the
  // next pass (which zeroes the slot again for its new owner) keep that event out of another pod.
  std::unordered_set<std::uint32_t> released;
  // Slots whose zeroing failed when their owner went: zeroed again (the retry, a rare path).
  std::erase_if(impl_->unzeroed, [&](std::uint32_t index) {
    if (!impl_->reset_slot(index, 0)) {
      return false;
    }
    impl_->owner_of.erase(index);
    released.insert(index);
    return true;
  });
  for (const auto& cg : live) {
    if (filtered(cg.id)) {
      if (auto index = release_slot(cg.id)) {
        released.insert(*index);
      }
    }
  }
  for (const auto& cg : live) {
    if (!filtered(cg.id) && !released.contains(impl_->index_of(cg.id))) {
      give_slot(cg.id);
    }
  }
}

std::optional<std::uint32_t> SchedCollector::release_slot(std::uint64_t id) {
  auto it = impl_->slot_of.find(id);
  if (it == impl_->slot_of.end()) {
    return std::nullopt;
  }
  // No owner from here on: a cgroup that is still alive (filtered since) counts in the hash map
  // again, and the slot is zeroed for the next cgroup whose id has its low bits.
  const std::uint32_t index = it->second;
  if (impl_->reset_slot(index, 0)) {
    impl_->owner_of.erase(index);
  } else {
    impl_->unzeroed.push_back(index);  // kept by the dead id, not handed out dirty, until zeroed
  }
  impl_->slot_of.erase(it);
  return index;
}

void SchedCollector::set_slot_write(SlotWrite write) {
  if (impl_) {
    impl_->write = std::move(write);
  }
}

std::size_t SchedCollector::slots_in_use() const { return impl_ ? impl_->slot_of.size() : 0; }

std::size_t SchedCollector::slot_collisions() const { return impl_ ? impl_->collisions : 0; }

bool SchedCollector::has_slot(std::uint64_t id) const { return impl_ && impl_->slot_of.contains(id); }

std::vector<std::pair<std::uint64_t, SchedCollector::Value>> SchedCollector::read_cgroups() const {
  if (!impl_) {
    return {};
  }
  auto fold = [](Value& acc, const sched_cg_stats& v) {
    acc.runq += v.runq;
    acc.switches += v.context_switches;
  };
  auto out = read_percpu_hash_map<std::uint64_t, sched_cg_stats, Value>(bpf_map__fd(impl_->skel->maps.cg_stats), fold);
  if (impl_->slots && !impl_->slot_of.empty()) {
    // A cgroup's events before it got its slot are in the hash map, later ones in the slot.
    std::unordered_map<std::uint64_t, std::size_t> at;
    for (std::size_t i = 0; i < out.size(); ++i) {
      at.emplace(out[i].first, i);
    }
    // The slots in use, in index order (neighbours share a system call).
    const auto cpus = static_cast<std::size_t>(possible_cpus());
    std::vector<std::uint32_t> indices;
    indices.reserve(impl_->owner_of.size());
    for (const auto& [index, id] : impl_->owner_of) {
      indices.push_back(index);
    }
    const auto slots = read_percpu_array_indices<sched_cg_stats>(bpf_map__fd(impl_->skel->maps.cg_slots), indices);
    std::size_t k = 0;
    for (const auto& [index, id] : impl_->owner_of) {
      Value v;
      for (std::size_t c = 0; c < cpus; ++c) {
        fold(v, slots[k * cpus + c]);
      }
      ++k;
      if (v.switches == 0 || !impl_->slot_of.contains(id)) {
        // No task of it ran yet (a pod-level cgroup has none): no series, as before. Or a slot
        // that could not be zeroed when its cgroup went, kept out of use rather than read.
        continue;
      }
      if (auto it = at.find(id); it != at.end()) {
        out[it->second].second += v;
      } else {
        out.emplace_back(id, std::move(v));
      }
    }
  }
  return out;
}

namespace {

// nodepack_bpf_calibration_ns_per_run{collector,program}: what each switch program cost while
// both were measured at start-up (only the chosen one runs afterwards).
void emit_calibration(const CalibrationDecision& d, std::vector<prometheus::MetricFamily>& out) {
  auto ns = metrics::Family::gauge("nodepack_bpf_calibration_ns_per_run",
                                   "Nanoseconds per run of each sched switch program measured side by side at start-up "
                                   "(the cheaper one is kept)");
  for (const auto& [program, runs] :
       {std::pair{"sched_switch_slots", d.slots}, std::pair{"sched_switch_info", d.info}}) {
    if (runs && runs->run_cnt > 0) {
      ns.add({{"collector", "sched"}, {"program", program}}, runs->ns_per_run());
    }
  }
  if (!ns.empty()) {
    std::move(ns).into(out);
  }
}

}  // namespace

Result<void> SchedCollector::collect(const kpod::ScrapeContext& ctx, std::vector<prometheus::MetricFamily>& out) {
  if (!impl_) {
    return fail("not started");
  }
  if (impl_->slots) {
    assign_slots(*ctx.resolver.live_dirs(), [&](std::uint64_t id) { return ctx.untracked.contains(id); });
  }
  const auto read = read_cgroups();
  record_map(impl_->skel->maps.cg_stats, read.size());
  auto rows = fold_and_drop(series_, ctx, read, impl_->skel->maps.cg_stats);
  if (impl_->slots) {
    for (auto id : ctx.removed) {  // read for the last time above (or never used)
      release_slot(id);
    }
    record_map(impl_->skel->maps.cg_slots, impl_->slot_of.size());
  }

  auto latency =
      metrics::Family::histogram("kpod_cpu_runqueue_latency_seconds",
                                 "Time tasks of the pod spent runnable, waiting in a CPU run queue, in seconds");
  auto switches = metrics::Family::counter("kpod_cpu_context_switches_total",
                                           "Context switches of tasks of the pod (task switched out)");
  for (const auto& row : rows) {
    add_log2_histogram(latency, ctx.labels(row.id), row.value.runq);
    switches.add(ctx.labels(row.id), static_cast<double>(row.value.switches));
  }
  metrics::emit(out, latency, switches);
  if (calibration_) {
    emit_calibration(*calibration_, out);
  }
  return {};
}

std::unique_ptr<kpod::Collector> make_sched_collector(const BpfDeps& deps) {
  SchedOptions options;
  // The flag was checked when parsed; anything else here is a caller's (a test's) default.
  options.preference =
      parse_sched_preference(deps.collector.options.sched_variant).value_or(SchedPreference::automatic);
  options.resolver = &deps.collector.resolver;
  return std::make_unique<SchedCollector>(deps.features, std::move(options));
}

}  // namespace nodepack::bpf
