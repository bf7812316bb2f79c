#include "bpf/syscall/syscall_collector.hpp"

#include "bpf/collectors.hpp"
#include "bpf/map_reader.hpp"
#include "bpf/program_variants.hpp"
#include "bpf/syscall/syscall.h"
#include "bpf/syscall/syscall_names.hpp"

#include "syscall.skel.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <unordered_map>

namespace nodepack::bpf {

struct SyscallCollector::Impl {
  syscall_bpf* skel = nullptr;  // owned by the collector's LoadedObject
};

SyscallCollector::SyscallCollector(FeatureProbe& features, std::vector<std::string> tracked)
    : features_(features), tracked_(std::move(tracked)) {}
SyscallCollector::~SyscallCollector() = default;

Result<void> SyscallCollector::start() {
  auto flavor = choose_flavor(features_, {"sys_enter", "sys_exit"});
  if (!flavor) {
    return flavor.error();
  }
  std::vector<int> numbers;
  for (const auto& name : tracked_) {
    auto nr = syscall_number(name);
    if (!nr || *nr < 0 || *nr >= SYSCALL_MAX_NR) {
      spdlog::warn("bpf collector syscall: cannot track unknown syscall \"{}\"", name);
      continue;
    }
    numbers.push_back(*nr);
  }
  if (numbers.empty()) {
    return fail("no known syscall in the tracked list");
  }
  auto skel = load_skeleton<syscall_bpf>([&](syscall_bpf* s) {
    for (int nr : numbers) {
      s->rodata->tracked[nr] = 1;
    }
    select_flavor(*flavor, {s->progs.sys_enter_btf, s->progs.sys_exit_btf},
                  {s->progs.sys_enter_raw, s->progs.sys_exit_raw});
    bpf_map__set_autocreate(s->maps.task_inflight, *flavor == HookFlavor::tp_btf);
    bpf_map__set_autocreate(s->maps.inflight, *flavor == HookFlavor::raw_tp);
  });
  if (!skel) {
    return skel.error();
  }
  spdlog::info("bpf collector syscall: attached ({}), tracking {} syscalls", to_string(*flavor), numbers.size());
  auto shared = std::make_shared<Skeleton<syscall_bpf>>(std::move(*skel));
  impl_ = std::make_unique<Impl>(Impl{shared->get()});
  adopt(LoadedObject(std::move(shared)));
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

Result<void> SyscallCollector::collect(const kpod::ScrapeContext& ctx, std::vector<prometheus::MetricFamily>& out) {
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
  record_map(impl_->skel->maps.stats, entries);

  auto count = metrics::Family::counter("kpod_syscall_count_total", "Syscall invocations");
  auto errors = metrics::Family::counter("kpod_syscall_errors_total", "Syscalls that returned an error");
  auto latency = metrics::Family::histogram("kpod_syscall_latency_seconds", "Syscall latency (seconds)");
  for (const auto& r : rows) {
    for (const auto& [nr, v] : r.value.by_nr) {
      auto labels = ctx.labels(r.id, {{"syscall", syscall_name(nr)}});
      const auto buckets = log2_buckets(v.latency);
      count.add(labels, static_cast<double>(buckets.back().cumulative_count));
      errors.add(labels, static_cast<double>(v.errors));
      latency.add_histogram(std::move(labels), buckets, static_cast<double>(v.latency.sum_ns) * 1e-9);
    }
  }
  metrics::emit(out, count, errors, latency);
  return {};
}

std::unique_ptr<kpod::Collector> make_syscall_collector(const BpfDeps& deps) {
  const auto& tracked = deps.collector.options.tracked_syscalls;
  return std::make_unique<SyscallCollector>(deps.features, tracked.empty() ? default_tracked_syscalls() : tracked);
}

}  // namespace nodepack::bpf
