#include "bpf/sched/sched_collector.hpp"

#include "bpf/cgroup_map_collector.hpp"
#include "bpf/collectors.hpp"
#include "bpf/map_reader.hpp"
#include "bpf/sched/sched.h"

#include "sched.skel.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <unordered_map>

namespace nodepack::bpf {

struct SchedCollector::Impl {
  sched_bpf* skel = nullptr;  // owned by the collector's LoadedObject
  bool slots = false;
  std::unordered_map<std::uint64_t, std::uint32_t> slot_of;  // cgroup id → index in cg_slots
  std::vector<std::uint32_t> free_slots;
  std::uint32_t next_slot = 0;
};

SchedCollector::SchedCollector(FeatureProbe& features) : features_(features) {}
SchedCollector::~SchedCollector() = default;

namespace {

enum class Variant { slots, info, btf, raw };

const char* variant_name(Variant v) {
  switch (v) {
    case Variant::slots:
      return "sched_slots";
    case Variant::info:
      return "sched_info";
    case Variant::btf:
      return "tp_btf";
    case Variant::raw:
      return "raw_tp";
  }
  return "?";
}

// Opens, loads and attaches the programs and maps of one variant.
Result<Skeleton<sched_bpf>> load_variant(Variant v) {
  return load_skeleton<sched_bpf>([v](sched_bpf* s) {
    const bool slots = v == Variant::slots, info = slots || v == Variant::info, btf = v == Variant::btf,
               raw = v == Variant::raw;
    bpf_program__set_autoload(s->progs.sched_switch_slots, slots);
    bpf_program__set_autoload(s->progs.sched_switch_info, info && !slots);
    bpf_map__set_autocreate(s->maps.preempted, info);
    bpf_map__set_autocreate(s->maps.cg_slot, slots);
    bpf_map__set_autocreate(s->maps.cg_slots, slots);
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

}  // namespace

Result<void> SchedCollector::start() {
  // Preferred: one program reading the scheduler's own enqueue stamps (see sched.bpf.c), with
  // per-CPU array slots for pod cgroups where cgroup-local storage exists. A variant the
  // verifier of this kernel refuses after all falls back to the next one.
  std::vector<Variant> candidates;
  const bool info = features_.supports("tp_btf:sched_switch") && features_.supports("sched_info");
  if (info && features_.supports("cgrp_storage")) {
    candidates.push_back(Variant::slots);
  }
  if (info) {
    candidates.push_back(Variant::info);
  }
  if (features_.supports("tp_btf:sched_switch") && features_.supports("tp_btf:sched_wakeup") &&
      features_.supports("tp_btf:sched_wakeup_new")) {
    candidates.push_back(Variant::btf);
  }
  if (features_.supports("raw_tp")) {
    candidates.push_back(Variant::raw);
  }
  if (candidates.empty()) {
    return fail("kernel takes neither tp_btf nor raw_tp programs");
  }
  std::string why;
  for (auto v : candidates) {
    auto skel = load_variant(v);
    if (!skel) {
      why = std::string(variant_name(v)) + ": " + skel.error().message;
      spdlog::warn("bpf collector sched: variant {} did not load ({}), trying the next", variant_name(v),
                   skel.error().message);
      continue;
    }
    variant_ = variant_name(v);
    spdlog::info("bpf collector sched: attached ({})", variant_);
    auto shared = std::make_shared<Skeleton<sched_bpf>>(std::move(*skel));
    impl_ = std::make_unique<Impl>();
    impl_->skel = shared->get();
    impl_->slots = v == Variant::slots;
    adopt(LoadedObject(std::move(shared)));
    return {};
  }
  return fail("no variant loaded; last: " + why);
}

bool SchedCollector::give_slot(std::uint64_t id, const std::filesystem::path& dir) {
  if (!impl_ || !impl_->slots) {
    return false;
  }
  if (impl_->slot_of.contains(id)) {
    return true;
  }
  std::uint32_t index = 0;
  if (!impl_->free_slots.empty()) {
    index = impl_->free_slots.back();
  } else if (impl_->next_slot < SCHED_MAX_SLOTS) {
    index = impl_->next_slot;
  } else {
    return false;  // full: this cgroup stays on the hash map
  }
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return false;
  }
  struct stat st {};
  const sched_cg_slot slot{index, 0};
  // The directory must still be the cgroup the id names (not a new one with a reused inode).
  const bool same = ::fstat(fd, &st) == 0 && static_cast<std::uint64_t>(st.st_ino) == id;
  const bool ok = same && bpf_map_update_elem(bpf_map__fd(impl_->skel->maps.cg_slot), &fd, &slot, BPF_NOEXIST) == 0;
  ::close(fd);
  if (!ok) {
    return false;
  }
  if (!impl_->free_slots.empty() && impl_->free_slots.back() == index) {
    impl_->free_slots.pop_back();
  } else {
    ++impl_->next_slot;
  }
  impl_->slot_of.emplace(id, index);
  return true;
}

void SchedCollector::release_slot(std::uint64_t id) {
  auto it = impl_->slot_of.find(id);
  if (it == impl_->slot_of.end()) {
    return;
  }
  // The cgroup is gone (no task left to update the slot) and its storage with it; clear the
  // slot for the next cgroup.
  std::vector<sched_cg_stats> zeros(static_cast<std::size_t>(possible_cpus()));
  const std::uint32_t index = it->second;
  if (bpf_map_update_elem(bpf_map__fd(impl_->skel->maps.cg_slots), &index, zeros.data(), BPF_ANY) == 0) {
    impl_->free_slots.push_back(index);
  }  // else: leaked rather than handed out dirty
  impl_->slot_of.erase(it);
}

std::size_t SchedCollector::slots_in_use() const { return impl_ ? impl_->slot_of.size() : 0; }

std::vector<std::pair<std::uint64_t, SchedCollector::Value>> SchedCollector::read_cgroups() const {
  if (!impl_) {
    return {};
  }
  auto fold = [](Value& acc, const sched_cg_stats& v) {
    acc.runq += v.runq;
    acc.switches += v.context_switches;
  };
  int fd = bpf_map__fd(impl_->skel->maps.cg_stats);
  auto out = read_percpu_hash_map<std::uint64_t, sched_cg_stats, Value>(fd, fold);
  if (impl_->slots && !impl_->slot_of.empty()) {
    // A cgroup's events before it got its slot are in the hash map, later ones in the slot.
    std::unordered_map<std::uint64_t, std::size_t> at;
    for (std::size_t i = 0; i < out.size(); ++i) {
      at.emplace(out[i].first, i);
    }
    std::vector<sched_cg_stats> cpus(static_cast<std::size_t>(possible_cpus()));
    const int slots_fd = bpf_map__fd(impl_->skel->maps.cg_slots);
    for (const auto& [id, index] : impl_->slot_of) {
      if (bpf_map_lookup_elem(slots_fd, &index, cpus.data()) != 0) {
        continue;
      }
      Value v;
      for (const auto& c : cpus) {
        fold(v, c);
      }
      if (v.switches == 0) {
        continue;  // no task of it ran yet (a pod-level cgroup has none): no series, as before
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

Result<void> SchedCollector::collect(const kpod::ScrapeContext& ctx, std::vector<prometheus::MetricFamily>& out) {
  if (!impl_) {
    return fail("not started");
  }
  if (impl_->slots) {
    for (const auto& cg : ctx.resolver.live_dirs()) {
      if (ctx.untracked.contains(cg.id)) {
        release_slot(cg.id);  // a filtered pod keeps no slot; its events find the skip list instead
      } else {
        give_slot(cg.id, cg.dir);
      }
    }
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
  return {};
}

std::unique_ptr<kpod::Collector> make_sched_collector(const BpfDeps& deps) {
  return std::make_unique<SchedCollector>(deps.features);
}

}  // namespace nodepack::bpf
