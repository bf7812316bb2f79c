#include "kpod/registry.hpp"

#include "metrics/family.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <unordered_set>

namespace nodepack::kpod {

CollectorRegistry::CollectorRegistry(RegistryOptions options, cgroup::CgroupResolver* resolver,
                                     std::vector<CollectorSpec> specs, std::optional<std::string> unusable)
    : options_(std::move(options)), resolver_(resolver), specs_(std::move(specs)), unusable_(std::move(unusable)) {
  if (resolver_ == nullptr && !unusable_) {
    unusable_ = "no cgroup resolver";
  }
  if (resolver_ != nullptr) {
    // Removed cgroups wait for their last scrape; containers started since the last pod event
    // are attributed on the next scrape, not the next pod event.
    resolver_->keep_removed();
    resolver_->rescan_on_miss(*options_.collectors.clock, std::chrono::seconds(1));
  }
}

CollectorRegistry::~CollectorRegistry() = default;

bool collector_enabled(const CollectorSpec& spec, Profile profile, std::optional<bool> override) {
  return override.value_or(spec.profile <= profile);
}

void CollectorRegistry::start() {
  std::lock_guard lock(mu_);
  if (unusable_) {
    spdlog::error("per-pod kernel metrics disabled: {}", *unusable_);
  } else {
    resolver_->rescan();
    untracked_cgroups();  // before any program loads and counts
  }
  for (const auto& spec : specs_) {
    const auto it = options_.enable.find(spec.name);
    if (!collector_enabled(spec, options_.profile,
                           it != options_.enable.end() ? std::optional<bool>(it->second) : std::nullopt)) {
      continue;
    }
    Slot slot{spec, nullptr, false, 0, 0};
    if (unusable_) {
      slot.errors = 1;  // already logged once above
      slots_.push_back(std::move(slot));
      continue;
    }
    const auto t0 = options_.collectors.clock->steady_now();
    slot.collector = spec.make(CollectorDeps{options_.collectors, *resolver_});
    auto started = slot.collector->start();
    slot.start_duration = std::chrono::duration<double>(options_.collectors.clock->steady_now() - t0).count();
    if (started) {
      slot.up = true;
    } else {
      slot.errors = 1;
      spdlog::error("collector {} disabled: {}", spec.name, started.error().message);
    }
    slots_.push_back(std::move(slot));
  }
}

void CollectorRegistry::rescan() {
  if (!unusable_) {
    resolver_->rescan();
    std::lock_guard lock(mu_);
    untracked_cgroups();
  }
}

void CollectorRegistry::rescan_pods(const std::unordered_set<std::string>& uids) {
  if (!unusable_) {
    resolver_->rescan_pods(uids);
    std::lock_guard lock(mu_);
    untracked_cgroups();
  }
}

const std::unordered_set<std::uint64_t>& CollectorRegistry::untracked_cgroups() const {
  if (resolver_ == nullptr) {
    return untracked_;
  }
  const auto generation = resolver_->live_generation();
  if (generation == untracked_of_) {
    return untracked_;
  }
  untracked_.clear();
  if (options_.scope.filters()) {
    for (const auto id : resolver_->live_ids()) {
      if (auto pod = resolver_->resolve(id); pod && !options_.scope.tracks(*pod)) {
        untracked_.insert(id);
      }
    }
  }
  // resolve() may have walked (a cgroup the last walk missed): then the next call looks again.
  untracked_of_ = generation;
  if (options_.skip_cgroups) {
    options_.skip_cgroups(std::vector<std::uint64_t>(untracked_.begin(), untracked_.end()));
  }
  return untracked_;
}

std::map<std::string, bool> CollectorRegistry::status() const {
  std::lock_guard lock(mu_);
  std::map<std::string, bool> out;
  for (const auto& s : slots_) {
    out[s.spec.name] = s.up;
  }
  return out;
}

bool CollectorRegistry::any_running(bool uses_bpf) const {
  std::lock_guard lock(mu_);
  for (const auto& s : slots_) {
    if (s.up && s.spec.uses_bpf == uses_bpf) {
      return true;
    }
  }
  return false;
}

Collector* CollectorRegistry::find(std::string_view name) const {
  std::lock_guard lock(mu_);
  for (const auto& s : slots_) {
    if (s.spec.name == name) {
      return s.up ? s.collector.get() : nullptr;
    }
  }
  return nullptr;
}

std::vector<prometheus::MetricFamily> CollectorRegistry::Collect() const {
  using metrics::Family;
  std::lock_guard lock(mu_);
  std::vector<prometheus::MetricFamily> out;
  auto up = Family::gauge("nodepack_collector_up", "Whether the collector is running (1) or disabled by an error (0)");
  auto duration = Family::gauge("nodepack_collector_scrape_duration_seconds", "Time the collector took in this scrape");
  auto errors = Family::counter("nodepack_collector_errors_total",
                                "Failures of the collector: load/attach at start-up and failed scrapes");
  auto run_count = Family::counter(
      "nodepack_bpf_program_run_count_total",
      "Times the BPF program ran while kernel BPF stats were on (nodepack_bpf_stats_enabled_seconds_total)");
  auto run_time = Family::counter(
      "nodepack_bpf_program_run_time_seconds_total",
      "Time spent in the BPF program while kernel BPF stats were on (nodepack_bpf_stats_enabled_seconds_total)");
  auto map_entries = Family::gauge("nodepack_bpf_map_entries", "Entries in the BPF map at the last scrape");
  auto map_capacity = Family::gauge("nodepack_bpf_map_capacity", "Maximum entries of the BPF map");
  auto map_errors = Family::counter("nodepack_bpf_map_update_errors_total",
                                    "Inserts the collector's BPF programs could not make because a map was full");
  auto load_duration =
      Family::gauge("nodepack_bpf_load_duration_seconds",
                    "Time the collector's BPF programs took to open, verify, load and attach at start-up");
  auto read_errors = Family::counter("nodepack_cgroup_read_errors_total",
                                     "Reads of a live cgroup's required files (cpu.stat, memory.stat) that failed");

  std::vector<std::uint64_t> removed_list;
  if (resolver_ != nullptr) {
    removed_list = resolver_->removed();
    const std::unordered_set<std::uint64_t> removed(removed_list.begin(), removed_list.end());
    const auto& untracked = untracked_cgroups();
    const ScrapeContext ctx{*resolver_, options_.collectors.node, removed, options_.scope, untracked};
    for (auto& slot : slots_) {
      if (!slot.up) {
        continue;
      }
      const std::string& name = slot.spec.name;
      const auto t0 = options_.collectors.clock->steady_now();
      if (auto r = slot.collector->collect(ctx, out); !r) {
        ++slot.errors;
        spdlog::warn("collector {} scrape failed: {}", name, r.error().message);
      }
      slot.last_duration = std::chrono::duration<double>(options_.collectors.clock->steady_now() - t0).count();
      duration.add({{"collector", name}}, slot.last_duration);
      for (const auto& p : slot.collector->program_stats()) {
        run_count.add({{"collector", name}, {"program", p.program}}, static_cast<double>(p.run_count));
        run_time.add({{"collector", name}, {"program", p.program}}, static_cast<double>(p.run_time_ns) * 1e-9);
      }
      for (const auto& m : slot.collector->map_stats()) {
        map_entries.add({{"collector", name}, {"map", m.map}}, static_cast<double>(m.entries));
        map_capacity.add({{"collector", name}, {"map", m.map}}, static_cast<double>(m.capacity));
      }
      if (slot.spec.uses_bpf) {
        map_errors.add({{"collector", name}}, static_cast<double>(slot.collector->map_update_errors()));
      }
      if (auto n = slot.collector->cgroup_read_errors()) {
        read_errors.add({{"collector", name}}, static_cast<double>(*n));
      }
    }
    resolver_->release(removed_list);
  }
  for (const auto& slot : slots_) {
    up.add({{"collector", slot.spec.name}}, slot.up ? 1.0 : 0.0);
    errors.add({{"collector", slot.spec.name}}, static_cast<double>(slot.errors));
    if (slot.spec.uses_bpf && slot.collector != nullptr) {
      load_duration.add({{"collector", slot.spec.name}}, slot.start_duration);
    }
  }
  auto cgroups =
      Family::gauge("nodepack_cgroup_resolver_pod_cgroups", "Pod and container cgroups found in the last cgroup walk");
  cgroups.add({}, resolver_ != nullptr ? static_cast<double>(resolver_->live_count()) : 0.0);
  auto miss_rescans = Family::counter("nodepack_cgroup_resolver_miss_rescans_total",
                                      "Cgroup walks made because a scrape met a cgroup id the last walk did not know");
  miss_rescans.add({}, resolver_ != nullptr ? static_cast<double>(resolver_->miss_rescans()) : 0.0);
  metrics::emit(out, up, duration, errors, run_count, run_time, map_entries, map_capacity, map_errors, load_duration,
                read_errors, cgroups, miss_rescans);
  return out;
}

}  // namespace nodepack::kpod
