#include "bpf/syscall/syscall_collector.hpp"

#include "bpf/bpf_stats.hpp"
#include "bpf/libbpf_log.hpp"
#include "bpf/map_reader.hpp"
#include "bpf/program_variants.hpp"
#include "bpf/skeleton.hpp"
#include "bpf/syscall/syscall.h"
#include "bpf/syscall/syscall_names.hpp"

#include "syscall.skel.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <unordered_map>

namespace nodepack::bpf {

struct SyscallCollector::Impl {
  Skeleton<syscall_bpf> skel;
};

SyscallCollector::SyscallCollector(FeatureProbe& features, std::vector<std::string> tracked)
    : features_(features), tracked_(std::move(tracked)) {}
SyscallCollector::~SyscallCollector() = default;

Result<void> SyscallCollector::start() {
  route_libbpf_logs_to_spdlog();
  auto flavor = choose_flavor(features_, {"sys_enter", "sys_exit"});
  if (!flavor) {
    return flavor.error();
  }
  auto skel = Skeleton<syscall_bpf>::open();
  if (!skel) {
    return skel.error();
  }
  auto& s = *skel;
  int n = 0;
  for (const auto& name : tracked_) {
    auto nr = syscall_number(name);
    if (!nr || *nr < 0 || *nr >= SYSCALL_MAX_NR) {
      spdlog::warn("bpf collector syscall: cannot track unknown syscall \"{}\"", name);
      continue;
    }
    s->rodata->tracked[*nr] = 1;
    ++n;
  }
  if (n == 0) {
    return fail("no known syscall in the tracked list");
  }
  select_flavor(*flavor, {s->progs.sys_enter_btf, s->progs.sys_exit_btf},
                {s->progs.sys_enter_raw, s->progs.sys_exit_raw});
  bpf_map__set_autocreate(s->maps.task_inflight, *flavor == HookFlavor::tp_btf);
  bpf_map__set_autocreate(s->maps.inflight, *flavor == HookFlavor::raw_tp);
  if (auto r = s.load(); !r) {
    return r;
  }
  if (auto r = s.attach(); !r) {
    return r;
  }
  spdlog::info("bpf collector syscall: attached ({}), tracking {} syscalls", to_string(*flavor), n);
  impl_ = std::make_unique<Impl>(Impl{std::move(s)});
  return {};
}

std::vector<std::pair<std::uint64_t, SyscallCollector::Value>> SyscallCollector::read_cgroups() const {
  if (!impl_) {
    return {};
  }
  auto per_key = read_percpu_hash_map<syscall_key, syscall_stats, PerSyscall>(
      bpf_map__fd(impl_->skel->maps.stats), [](PerSyscall& acc, const syscall_stats& v) {
        acc.errors += v.errors;
        acc.latency += v.latency;
      });
  std::unordered_map<std::uint64_t, Value> by_cgroup;
  for (const auto& [key, v] : per_key) {
    auto& dst = by_cgroup[key.cgroup_id].by_nr[static_cast<int>(key.nr)];
    dst.errors += v.errors;
    dst.latency += v.latency;
  }
  return {by_cgroup.begin(), by_cgroup.end()};
}

Result<void> SyscallCollector::collect(const ScrapeContext& ctx, std::vector<prometheus::MetricFamily>& out) {
  if (!impl_) {
    return fail("not started");
  }
  auto read = read_cgroups();
  std::vector<std::uint64_t> drop;
  auto rows = series_.fold(ctx, read, drop);
  // The map is keyed by (cgroup, syscall): delete every key of a dropped cgroup.
  const int fd = bpf_map__fd(impl_->skel->maps.stats);
  std::uint64_t entries = 0;
  std::vector<syscall_key> doomed;
  {
    syscall_key key{}, next{};
    const syscall_key* prev = nullptr;
    while (bpf_map_get_next_key(fd, prev, &next) == 0) {
      ++entries;
      if (std::find(drop.begin(), drop.end(), next.cgroup_id) != drop.end()) {
        doomed.push_back(next);
      }
      key = next;
      prev = &key;
    }
  }
  for (const auto& k : doomed) {
    bpf_map_delete_elem(fd, &k);
  }
  last_entries_ = entries;

  using prometheus::MetricType;
  auto count = make_family("kpod_syscall_count_total", "Syscall invocations", MetricType::Counter);
  auto errors = make_family("kpod_syscall_errors_total", "Syscalls that returned an error", MetricType::Counter);
  auto latency = make_family("kpod_syscall_latency_seconds", "Syscall latency (seconds)", MetricType::Histogram);
  for (const auto& r : rows) {
    for (const auto& [nr, v] : r.value.by_nr) {
      auto labels = pod_labels(r.id, ctx.node, {{"syscall", syscall_name(nr)}});
      auto h = histogram_metric(labels, v.latency);
      count.metric.push_back(counter_metric(labels, static_cast<double>(h.histogram.sample_count)));
      errors.metric.push_back(counter_metric(labels, static_cast<double>(v.errors)));
      latency.metric.push_back(std::move(h));
    }
  }
  out.push_back(std::move(count));
  out.push_back(std::move(errors));
  out.push_back(std::move(latency));
  return {};
}

std::vector<ProgramStats> SyscallCollector::program_stats() const {
  return impl_ ? program_stats_of(impl_->skel->obj) : std::vector<ProgramStats>{};
}

std::vector<MapStats> SyscallCollector::map_stats() const {
  if (!impl_) {
    return {};
  }
  return {map_stats_of(impl_->skel->maps.stats, last_entries_)};
}

}  // namespace nodepack::bpf
