#include "bpf/registry.hpp"

#include "bpf/blkio/blkio_collector.hpp"
#include "bpf/cgroupfs/cgroupfs_collector.hpp"
#include "bpf/fs/fs_collector.hpp"
#include "bpf/irq/irq_collector.hpp"
#include "bpf/metrics.hpp"
#include "bpf/netiface/net_iface_collector.hpp"
#include "bpf/oom/oom_collector.hpp"
#include "bpf/proc/proc_collector.hpp"
#include "bpf/sched/sched_collector.hpp"
#include "bpf/syscall/syscall_collector.hpp"
#include "bpf/syscall/syscall_names.hpp"
#include "bpf/tcp/tcp_collector.hpp"
#include "bpf/tcpdrop/tcpdrop_collector.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <unordered_set>

namespace nodepack::bpf {

Result<Profile> parse_profile(std::string_view s) {
  if (s == "minimal") {
    return Profile::minimal;
  }
  if (s == "standard") {
    return Profile::standard;
  }
  if (s == "comprehensive") {
    return Profile::comprehensive;
  }
  return fail("unknown profile \"" + std::string(s) + "\" (minimal|standard|comprehensive)");
}

const std::vector<CollectorSpec>& builtin_collectors() {
  static const std::vector<CollectorSpec> specs = {
      {"sched", Profile::minimal, true,
       [](const CollectorDeps& d) { return std::make_unique<SchedCollector>(d.features); }},
      {"oom", Profile::minimal, true,
       [](const CollectorDeps& d) { return std::make_unique<OomCollector>(d.features); }},
      {"tcp", Profile::standard, true,
       [](const CollectorDeps& d) { return std::make_unique<TcpCollector>(d.features, d.resolver); }},
      {"tcpdrop", Profile::standard, true,
       [](const CollectorDeps& d) { return std::make_unique<TcpDropCollector>(d.features); }},
      {"cgroupfs", Profile::minimal, false,
       [](const CollectorDeps& d) { return std::make_unique<CgroupFsCollector>(d.options.paths); }},
      {"iface", Profile::standard, false,
       [](const CollectorDeps& d) { return std::make_unique<NetIfaceCollector>(d.options.paths); }},
      {"fs", Profile::standard, false,
       [](const CollectorDeps& d) { return std::make_unique<FsCollector>(d.options.paths); }},
      {"blkio", Profile::standard, true,
       [](const CollectorDeps& d) { return std::make_unique<BlkioCollector>(d.features); }},
      {"syscall", Profile::comprehensive, true,
       [](const CollectorDeps& d) {
         auto tracked = d.options.tracked_syscalls.empty() ? default_tracked_syscalls() : d.options.tracked_syscalls;
         return std::make_unique<SyscallCollector>(d.features, std::move(tracked));
       }},
      {"irq", Profile::comprehensive, true,
       [](const CollectorDeps& d) { return std::make_unique<IrqCollector>(d.features); }},
      {"proc", Profile::comprehensive, true,
       [](const CollectorDeps& d) { return std::make_unique<ProcCollector>(d.features); }},
  };
  return specs;
}

std::unique_ptr<CollectorRegistry> CollectorRegistry::create(RegistryOptions options, const PodLookup& pods) {
  auto resolver = CgroupResolver::create(options.paths, pods);
  std::optional<std::string> unusable;
  if (!resolver) {
    unusable = resolver.error().message;
    resolver = std::make_unique<CgroupResolver>(std::filesystem::path{}, pods);
  }
  auto reg = std::make_unique<CollectorRegistry>(std::move(options), std::move(*resolver),
                                                 std::make_unique<KernelFeatureProbe>(), builtin_collectors());
  reg->unusable_ = std::move(unusable);
  return reg;
}

CollectorRegistry::CollectorRegistry(RegistryOptions options, std::unique_ptr<CgroupResolver> resolver,
                                     std::unique_ptr<FeatureProbe> features, std::vector<CollectorSpec> specs)
    : options_(std::move(options)),
      resolver_(std::move(resolver)),
      features_(std::move(features)),
      specs_(std::move(specs)) {
  // Containers started since the last pod event are attributed on the next scrape, not the
  // next pod event.
  resolver_->rescan_on_miss(*options_.clock, std::chrono::seconds(1));
}

CollectorRegistry::~CollectorRegistry() = default;

void CollectorRegistry::start() {
  std::lock_guard lock(mu_);
  if (unusable_) {
    spdlog::error("per-pod kernel metrics disabled: {}", *unusable_);
  } else {
    resolver_->rescan();
  }
  CollectorDeps deps{options_, *features_, *resolver_};
  bool any_bpf = false;
  for (const auto& spec : specs_) {
    bool enabled = spec.profile <= options_.profile;
    if (auto it = options_.enable.find(spec.name); it != options_.enable.end()) {
      enabled = it->second;
    }
    if (!enabled) {
      continue;
    }
    Slot slot{spec, spec.make(deps), false, 0, 0};
    if (unusable_) {
      slot.errors = 1;  // already logged once above
      slots_.push_back(std::move(slot));
      continue;
    }
    auto started = slot.collector->start();
    if (started) {
      slot.up = true;
      any_bpf = any_bpf || spec.uses_bpf;
    } else {
      slot.errors = 1;
      spdlog::error("collector {} disabled: {}", spec.name, started.error().message);
    }
    slots_.push_back(std::move(slot));
  }
  if (any_bpf && options_.bpf_stats && features_->supports("bpf_stats")) {
    auto s = BpfStatsSession::enable();
    if (s) {
      stats_.emplace(std::move(*s));
    } else {
      spdlog::warn("per-program BPF cost metrics unavailable: {}", s.error().message);
    }
  }
}

void CollectorRegistry::rescan() {
  if (!unusable_) {
    resolver_->rescan();
  }
}

std::map<std::string, bool> CollectorRegistry::status() const {
  std::lock_guard lock(mu_);
  std::map<std::string, bool> out;
  for (const auto& s : slots_) {
    out[s.spec.name] = s.up;
  }
  return out;
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
  std::lock_guard lock(mu_);
  std::vector<prometheus::MetricFamily> out;
  const auto removed_list = resolver_->removed();
  const std::unordered_set<std::uint64_t> removed(removed_list.begin(), removed_list.end());
  ScrapeContext ctx{*resolver_, options_.node, removed};

  auto up = make_family("nodepack_collector_up", "Whether the collector is running (1) or disabled by an error (0)",
                        prometheus::MetricType::Gauge);
  auto duration = make_family("nodepack_collector_scrape_duration_seconds", "Time the collector took in this scrape",
                              prometheus::MetricType::Gauge);
  auto errors = make_family("nodepack_collector_errors_total",
                            "Failures of the collector: load/attach at start-up and failed scrapes",
                            prometheus::MetricType::Counter);
  auto run_count = make_family("nodepack_bpf_program_run_count_total",
                               "Times the BPF program ran (needs kernel BPF stats)", prometheus::MetricType::Counter);
  auto run_time =
      make_family("nodepack_bpf_program_run_time_seconds_total",
                  "Time spent in the BPF program (needs kernel BPF stats)", prometheus::MetricType::Counter);
  auto map_entries = make_family("nodepack_bpf_map_entries", "Entries in the BPF map at the last scrape",
                                 prometheus::MetricType::Gauge);
  auto map_capacity =
      make_family("nodepack_bpf_map_capacity", "Maximum entries of the BPF map", prometheus::MetricType::Gauge);

  for (auto& slot : slots_) {
    const std::string& name = slot.spec.name;
    if (slot.up) {
      auto t0 = options_.clock->steady_now();
      auto r = slot.collector->collect(ctx, out);
      slot.last_duration = std::chrono::duration<double>(options_.clock->steady_now() - t0).count();
      if (!r) {
        ++slot.errors;
        spdlog::warn("collector {} scrape failed: {}", name, r.error().message);
      }
      duration.metric.push_back(gauge_metric({{"collector", name}}, slot.last_duration));
      for (const auto& p : slot.collector->program_stats()) {
        run_count.metric.push_back(
            counter_metric({{"collector", name}, {"program", p.program}}, static_cast<double>(p.run_count)));
        run_time.metric.push_back(
            counter_metric({{"collector", name}, {"program", p.program}}, static_cast<double>(p.run_time_ns) * 1e-9));
      }
      for (const auto& m : slot.collector->map_stats()) {
        map_entries.metric.push_back(
            gauge_metric({{"collector", name}, {"map", m.map}}, static_cast<double>(m.entries)));
        map_capacity.metric.push_back(
            gauge_metric({{"collector", name}, {"map", m.map}}, static_cast<double>(m.capacity)));
      }
    }
    up.metric.push_back(gauge_metric({{"collector", name}}, slot.up ? 1.0 : 0.0));
    errors.metric.push_back(counter_metric({{"collector", name}}, static_cast<double>(slot.errors)));
  }
  resolver_->release(removed_list);

  auto features = make_family("nodepack_bpf_feature", "Kernel BPF features as probed at start-up (1 available)",
                              prometheus::MetricType::Gauge);
  for (const auto& [f, ok] : features_->answers()) {
    features.metric.push_back(gauge_metric({{"feature", f}}, ok ? 1.0 : 0.0));
  }
  auto stats_on =
      make_family("nodepack_bpf_stats_enabled", "Whether kernel BPF run-time statistics are on for nodepack's programs",
                  prometheus::MetricType::Gauge);
  stats_on.metric.push_back(gauge_metric({}, stats_ ? 1.0 : 0.0));
  auto cgroups = make_family("nodepack_cgroup_resolver_pod_cgroups",
                             "Pod and container cgroups found in the last cgroup walk", prometheus::MetricType::Gauge);
  cgroups.metric.push_back(gauge_metric({}, static_cast<double>(resolver_->live_count())));
  auto miss_rescans = make_family("nodepack_cgroup_resolver_miss_rescans_total",
                                  "Cgroup walks made because a scrape met a cgroup id the last walk did not know",
                                  prometheus::MetricType::Counter);
  miss_rescans.metric.push_back(counter_metric({}, static_cast<double>(resolver_->miss_rescans())));

  for (auto* f : {&up, &duration, &errors, &run_count, &run_time, &map_entries, &map_capacity, &features, &stats_on,
                  &cgroups, &miss_rescans}) {
    out.push_back(std::move(*f));
  }
  return out;
}

}  // namespace nodepack::bpf
