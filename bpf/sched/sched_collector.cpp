#include "bpf/sched/sched_collector.hpp"

#include "bpf/bpf_stats.hpp"
#include "bpf/libbpf_log.hpp"
#include "bpf/map_reader.hpp"
#include "bpf/skeleton.hpp"
#include "bpf/sched/sched.h"

#include "sched.skel.h"

#include <spdlog/spdlog.h>

namespace nodepack::bpf {

struct SchedCollector::Impl {
  Skeleton<sched_bpf> skel;
};

SchedCollector::SchedCollector(FeatureProbe& features) : features_(features) {}
SchedCollector::~SchedCollector() = default;

Result<void> SchedCollector::start() {
  route_libbpf_logs_to_spdlog();
  // Preferred: one program reading the scheduler's own enqueue stamps (see sched.bpf.c).
  const bool info = features_.supports("tp_btf:sched_switch") && features_.supports("sched_info");
  const bool btf = !info && features_.supports("tp_btf:sched_switch") && features_.supports("tp_btf:sched_wakeup") &&
                   features_.supports("tp_btf:sched_wakeup_new");
  if (!info && !btf && !features_.supports("raw_tp")) {
    return fail("kernel takes neither tp_btf nor raw_tp programs");
  }
  auto skel = Skeleton<sched_bpf>::open();
  if (!skel) {
    return skel.error();
  }
  auto& s = *skel;
  bpf_program__set_autoload(s->progs.sched_switch_info, info);
  for (auto* prog : {s->progs.sched_wakeup_btf, s->progs.sched_wakeup_new_btf, s->progs.sched_switch_btf}) {
    bpf_program__set_autoload(prog, btf);
  }
  for (auto* prog : {s->progs.sched_wakeup_raw, s->progs.sched_wakeup_new_raw, s->progs.sched_switch_raw}) {
    bpf_program__set_autoload(prog, !info && !btf);
  }
  // Only the wait-start store the chosen programs use is created.
  bpf_map__set_autocreate(s->maps.task_enqueued, btf);
  bpf_map__set_autocreate(s->maps.waiting, !info && !btf);
  if (auto r = s.load(); !r) {
    return r;
  }
  if (auto r = s.attach(); !r) {
    return r;
  }
  variant_ = info ? "sched_info" : btf ? "tp_btf" : "raw_tp";
  spdlog::info("bpf collector sched: attached ({})", variant_);
  impl_ = std::make_unique<Impl>(Impl{std::move(s)});
  return {};
}

std::vector<std::pair<std::uint64_t, SchedCollector::Value>> SchedCollector::read_cgroups() const {
  if (!impl_) {
    return {};
  }
  int fd = bpf_map__fd(impl_->skel->maps.cg_stats);
  return read_percpu_hash_map<std::uint64_t, sched_cg_stats, Value>(fd, [](Value& acc, const sched_cg_stats& v) {
    acc.runq += v.runq;
    acc.switches += v.context_switches;
  });
}

Result<void> SchedCollector::collect(const ScrapeContext& ctx, std::vector<prometheus::MetricFamily>& out) {
  if (!impl_) {
    return fail("not started");
  }
  auto read = read_cgroups();
  last_entries_ = read.size();
  std::vector<std::uint64_t> drop;
  auto rows = series_.fold(ctx, read, drop);
  int fd = bpf_map__fd(impl_->skel->maps.cg_stats);
  for (auto id : drop) {
    bpf_map_delete_elem(fd, &id);
  }

  auto latency = make_family("kpod_cpu_runqueue_latency_seconds",
                             "Time tasks of the pod spent runnable, waiting in a CPU run queue, in seconds",
                             prometheus::MetricType::Histogram);
  auto switches = make_family("kpod_cpu_context_switches_total",
                              "Context switches of tasks of the pod (task switched out)",
                              prometheus::MetricType::Counter);
  for (const auto& row : rows) {
    latency.metric.push_back(histogram_metric(pod_labels(row.id, ctx.node), row.value.runq));
    switches.metric.push_back(counter_metric(pod_labels(row.id, ctx.node), static_cast<double>(row.value.switches)));
  }
  out.push_back(std::move(latency));
  out.push_back(std::move(switches));
  return {};
}

std::vector<ProgramStats> SchedCollector::program_stats() const {
  return impl_ ? program_stats_of(impl_->skel->obj) : std::vector<ProgramStats>{};
}

std::vector<MapStats> SchedCollector::map_stats() const {
  if (!impl_) {
    return {};
  }
  return {map_stats_of(impl_->skel->maps.cg_stats, last_entries_)};
}

}  // namespace nodepack::bpf
