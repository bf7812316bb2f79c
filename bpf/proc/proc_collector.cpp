#include "bpf/proc/proc_collector.hpp"

#include "bpf/bpf_stats.hpp"
#include "bpf/libbpf_log.hpp"
#include "bpf/map_reader.hpp"
#include "bpf/metrics.hpp"
#include "bpf/proc/proc.h"
#include "bpf/program_variants.hpp"
#include "bpf/skeleton.hpp"

#include "proc.skel.h"

#include <spdlog/spdlog.h>

namespace nodepack::bpf {

struct ProcCollector::Impl {
  Skeleton<proc_bpf> skel;
};

ProcCollector::ProcCollector(FeatureProbe& features) : features_(features) {}
ProcCollector::~ProcCollector() = default;

Result<void> ProcCollector::start() {
  route_libbpf_logs_to_spdlog();
  auto flavor = choose_flavor(features_, {"sched_process_exec", "sched_process_fork", "sched_process_exit"});
  if (!flavor) {
    return flavor.error();
  }
  auto skel = Skeleton<proc_bpf>::open();
  if (!skel) {
    return skel.error();
  }
  auto& s = *skel;
  select_flavor(*flavor, {s->progs.proc_exec_btf, s->progs.proc_fork_btf, s->progs.proc_exit_btf},
                {s->progs.proc_exec_raw, s->progs.proc_fork_raw, s->progs.proc_exit_raw});
  if (auto r = s.load(); !r) {
    return r;
  }
  if (auto r = s.attach(); !r) {
    return r;
  }
  spdlog::info("bpf collector proc: attached ({})", to_string(*flavor));
  impl_ = std::make_unique<Impl>(Impl{std::move(s)});
  return {};
}

std::vector<std::pair<std::uint64_t, ProcCollector::Value>> ProcCollector::read_cgroups() const {
  if (!impl_) {
    return {};
  }
  return read_percpu_hash_map<std::uint64_t, proc_cg_counts, Value>(bpf_map__fd(impl_->skel->maps.cg_counts),
                                                                    [](Value& acc, const proc_cg_counts& v) {
                                                                      acc.execs += v.execs;
                                                                      acc.forks += v.forks;
                                                                      acc.exits += v.exits;
                                                                    });
}

Result<void> ProcCollector::collect(const ScrapeContext& ctx, std::vector<prometheus::MetricFamily>& out) {
  if (!impl_) {
    return fail("not started");
  }
  auto read = read_cgroups();
  last_entries_ = read.size();
  std::vector<std::uint64_t> drop;
  auto rows = series_.fold(ctx, read, drop);
  for (auto id : drop) {
    bpf_map_delete_elem(bpf_map__fd(impl_->skel->maps.cg_counts), &id);
  }
  auto execs = make_family("kpod_proc_execs_total", "Process exec events", prometheus::MetricType::Counter);
  auto forks = make_family("kpod_proc_forks_total", "Process fork events", prometheus::MetricType::Counter);
  auto exits = make_family("kpod_proc_exits_total", "Process exit events", prometheus::MetricType::Counter);
  for (const auto& r : rows) {
    auto labels = pod_labels(r.id, ctx.node);
    execs.metric.push_back(counter_metric(labels, static_cast<double>(r.value.execs)));
    forks.metric.push_back(counter_metric(labels, static_cast<double>(r.value.forks)));
    exits.metric.push_back(counter_metric(labels, static_cast<double>(r.value.exits)));
  }
  out.push_back(std::move(execs));
  out.push_back(std::move(forks));
  out.push_back(std::move(exits));
  return {};
}

std::vector<ProgramStats> ProcCollector::program_stats() const {
  return impl_ ? program_stats_of(impl_->skel->obj) : std::vector<ProgramStats>{};
}

std::vector<MapStats> ProcCollector::map_stats() const {
  if (!impl_) {
    return {};
  }
  return {map_stats_of(impl_->skel->maps.cg_counts, last_entries_)};
}

}  // namespace nodepack::bpf
