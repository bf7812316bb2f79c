// kpod_mem_oom_kills_total from the oom:mark_victim tracepoint, charged to the victim's cgroup.
#include "bpf/cgroup_map_collector.hpp"
#include "bpf/collectors.hpp"
#include "bpf/oom/oom.h"
#include "bpf/program_variants.hpp"

#include "oom.skel.h"

namespace nodepack::bpf {
namespace {

Result<CgroupMap> load(FeatureProbe& features) {
  if (!features.supports("mark_victim:task")) {
    return fail(
        "this kernel's oom:mark_victim tracepoint does not pass the victim task; "
        "OOM kills per pod are not available from BPF here");
  }
  auto flavor = choose_flavor(features, {"mark_victim"});
  if (!flavor) {
    return flavor.error();
  }
  auto skel = load_skeleton<oom_bpf>(
      [&](oom_bpf* s) { select_flavor(*flavor, {s->progs.mark_victim_btf}, {s->progs.mark_victim_raw}); });
  if (!skel) {
    return skel.error();
  }
  const bpf_map* map = (*skel)->maps.kills;
  return CgroupMap{LoadedObject(std::move(*skel)), map, to_string(*flavor)};
}

void emit(const CgroupMapCollector<oom_cg_stats>::Rows& rows, const kpod::ScrapeContext& ctx,
          std::vector<prometheus::MetricFamily>& out) {
  auto kills = metrics::Family::counter("kpod_mem_oom_kills_total", "OOM kill events (victims in the pod)");
  for (const auto& r : rows) {
    kills.add(ctx.labels(r.id), static_cast<double>(r.value.kills));
  }
  std::move(kills).into(out);
}

}  // namespace

std::unique_ptr<kpod::Collector> make_oom_collector(const BpfDeps& deps) {
  return std::make_unique<CgroupMapCollector<oom_cg_stats>>("oom", deps.features, load, emit);
}

}  // namespace nodepack::bpf
