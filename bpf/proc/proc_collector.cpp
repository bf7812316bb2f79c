// kpod_proc_execs_total, kpod_proc_forks_total, kpod_proc_exits_total from
// sched_process_exec/fork/exit.
#include "bpf/cgroup_map_collector.hpp"
#include "bpf/collectors.hpp"
#include "bpf/proc/proc.h"
#include "bpf/program_variants.hpp"

#include "proc.skel.h"

namespace nodepack::bpf {
namespace {

Result<CgroupMap> load(FeatureProbe& features) {
  auto flavor = choose_flavor(features, {"sched_process_exec", "sched_process_fork", "sched_process_exit"});
  if (!flavor) {
    return flavor.error();
  }
  auto skel = load_skeleton<proc_bpf>([&](proc_bpf* s) {
    select_flavor(*flavor, {s->progs.proc_exec_btf, s->progs.proc_fork_btf, s->progs.proc_exit_btf},
                  {s->progs.proc_exec_raw, s->progs.proc_fork_raw, s->progs.proc_exit_raw});
  });
  if (!skel) {
    return skel.error();
  }
  const bpf_map* map = (*skel)->maps.cg_counts;
  return CgroupMap{LoadedObject(std::move(*skel)), map, to_string(*flavor)};
}

void emit(const CgroupMapCollector<proc_cg_counts>::Rows& rows, const kpod::ScrapeContext& ctx,
          std::vector<prometheus::MetricFamily>& out) {
  auto execs = metrics::Family::counter("kpod_proc_execs_total", "Process exec events");
  auto forks = metrics::Family::counter("kpod_proc_forks_total", "Process fork events");
  auto exits = metrics::Family::counter("kpod_proc_exits_total", "Process exit events");
  for (const auto& r : rows) {
    auto labels = ctx.labels(r.id);
    execs.add(labels, static_cast<double>(r.value.execs));
    forks.add(labels, static_cast<double>(r.value.forks));
    exits.add(std::move(labels), static_cast<double>(r.value.exits));
  }
  metrics::emit(out, execs, forks, exits);
}

}  // namespace

std::unique_ptr<kpod::Collector> make_proc_collector(const BpfDeps& deps) {
  return std::make_unique<CgroupMapCollector<proc_cg_counts>>("proc", deps.features, load, emit);
}

}  // namespace nodepack::bpf
