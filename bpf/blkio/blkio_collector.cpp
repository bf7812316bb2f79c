// kpod_disk_io_latency_seconds: block request latency, issue to completion, per cgroup of the
// request (its blkcg).
#include "bpf/blkio/blkio.h"
#include "bpf/cgroup_map_collector.hpp"
#include "bpf/collectors.hpp"
#include "bpf/log2_hist.hpp"
#include "bpf/program_variants.hpp"

#include "blkio.skel.h"

namespace nodepack::bpf {
namespace {

Result<CgroupMap> load(FeatureProbe& features) {
  // Before Linux 5.11 block_rq_issue passed (queue, request); tp_btf is only used for the newer
  // single-argument form, the older one goes through raw_tp.
  const bool new_issue = features.supports("block_rq_issue:request_first");
  auto flavor = choose_flavor(features, {"block_rq_issue", "block_rq_insert", "block_rq_complete"});
  if (!flavor) {
    return flavor.error();
  }
  const HookFlavor f = new_issue ? *flavor : HookFlavor::raw_tp;
  auto skel = load_skeleton<blkio_bpf>([&](blkio_bpf* s) {
    select_flavor(f, {s->progs.blk_issue_btf, s->progs.blk_insert_btf, s->progs.blk_complete_btf},
                  {s->progs.blk_issue_raw, s->progs.blk_insert_raw, s->progs.blk_complete_raw});
    // block_rq_insert changed shape in the same commit as block_rq_issue.
    const bool old_shape = f == HookFlavor::raw_tp && !new_issue;
    bpf_program__set_autoload(s->progs.blk_issue_raw, f == HookFlavor::raw_tp && !old_shape);
    bpf_program__set_autoload(s->progs.blk_insert_raw, f == HookFlavor::raw_tp && !old_shape);
    bpf_program__set_autoload(s->progs.blk_issue_raw_old, old_shape);
    bpf_program__set_autoload(s->progs.blk_insert_raw_old, old_shape);
  });
  if (!skel) {
    return skel.error();
  }
  const bpf_map* map = (*skel)->maps.cg_io;
  return CgroupMap{LoadedObject(std::move(*skel)), map,
                   std::string(to_string(f)) + (new_issue ? "" : ", pre-5.11 block_rq_issue")};
}

void emit(const CgroupMapCollector<blkio_cg_stats>::Rows& rows, const kpod::ScrapeContext& ctx,
          std::vector<prometheus::MetricFamily>& out) {
  auto latency = metrics::Family::histogram("kpod_disk_io_latency_seconds", "Block I/O latency (seconds)");
  for (const auto& r : rows) {
    add_log2_histogram(latency, ctx.labels(r.id), r.value.latency);
  }
  std::move(latency).into(out);
}

}  // namespace

std::unique_ptr<kpod::Collector> make_blkio_collector(const BpfDeps& deps) {
  return std::make_unique<CgroupMapCollector<blkio_cg_stats>>("blkio", deps.features, load, emit);
}

}  // namespace nodepack::bpf
