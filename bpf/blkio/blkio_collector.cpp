#include "bpf/blkio/blkio_collector.hpp"

#include "bpf/blkio/blkio.h"
#include "bpf/bpf_stats.hpp"
#include "bpf/libbpf_log.hpp"
#include "bpf/map_reader.hpp"
#include "bpf/program_variants.hpp"
#include "bpf/skeleton.hpp"

#include "blkio.skel.h"

#include <spdlog/spdlog.h>

namespace nodepack::bpf {

struct BlkioCollector::Impl {
  Skeleton<blkio_bpf> skel;
};

BlkioCollector::BlkioCollector(FeatureProbe& features) : features_(features) {}
BlkioCollector::~BlkioCollector() = default;

Result<void> BlkioCollector::start() {
  route_libbpf_logs_to_spdlog();
  // Before Linux 5.11 block_rq_issue passed (queue, request); tp_btf is only used for the newer
  // single-argument form, the older one goes through raw_tp.
  const bool new_issue = features_.supports("block_rq_issue:request_first");
  auto flavor = choose_flavor(features_, {"block_rq_issue", "block_rq_insert", "block_rq_complete"});
  if (!flavor) {
    return flavor.error();
  }
  HookFlavor f = new_issue ? *flavor : HookFlavor::raw_tp;
  auto skel = Skeleton<blkio_bpf>::open();
  if (!skel) {
    return skel.error();
  }
  auto& s = *skel;
  select_flavor(f, {s->progs.blk_issue_btf, s->progs.blk_insert_btf, s->progs.blk_complete_btf},
                {s->progs.blk_issue_raw, s->progs.blk_insert_raw, s->progs.blk_complete_raw});
  // block_rq_insert changed shape in the same commit as block_rq_issue.
  const bool old_shape = f == HookFlavor::raw_tp && !new_issue;
  bpf_program__set_autoload(s->progs.blk_issue_raw, f == HookFlavor::raw_tp && !old_shape);
  bpf_program__set_autoload(s->progs.blk_insert_raw, f == HookFlavor::raw_tp && !old_shape);
  bpf_program__set_autoload(s->progs.blk_issue_raw_old, old_shape);
  bpf_program__set_autoload(s->progs.blk_insert_raw_old, old_shape);
  if (auto r = s.load(); !r) {
    return r;
  }
  if (auto r = s.attach(); !r) {
    return r;
  }
  spdlog::info("bpf collector blkio: attached ({}{})", to_string(f), new_issue ? "" : ", pre-5.11 block_rq_issue");
  impl_ = std::make_unique<Impl>(Impl{std::move(s)});
  return {};
}

std::vector<std::pair<std::uint64_t, BlkioCollector::Value>> BlkioCollector::read_cgroups() const {
  if (!impl_) {
    return {};
  }
  return read_percpu_hash_map<std::uint64_t, blkio_cg_stats, Value>(
      bpf_map__fd(impl_->skel->maps.cg_io), [](Value& acc, const blkio_cg_stats& v) { acc.latency += v.latency; });
}

Result<void> BlkioCollector::collect(const ScrapeContext& ctx, std::vector<prometheus::MetricFamily>& out) {
  if (!impl_) {
    return fail("not started");
  }
  auto read = read_cgroups();
  last_entries_ = read.size();
  std::vector<std::uint64_t> drop;
  auto rows = series_.fold(ctx, read, drop);
  for (auto id : drop) {
    bpf_map_delete_elem(bpf_map__fd(impl_->skel->maps.cg_io), &id);
  }
  auto lat =
      make_family("kpod_disk_io_latency_seconds", "Block I/O latency (seconds)", prometheus::MetricType::Histogram);
  for (const auto& r : rows) {
    lat.metric.push_back(histogram_metric(pod_labels(r.id, ctx.node), r.value.latency));
  }
  out.push_back(std::move(lat));
  return {};
}

std::vector<ProgramStats> BlkioCollector::program_stats() const {
  return impl_ ? program_stats_of(impl_->skel->obj) : std::vector<ProgramStats>{};
}

std::vector<MapStats> BlkioCollector::map_stats() const {
  if (!impl_) {
    return {};
  }
  return {map_stats_of(impl_->skel->maps.cg_io, last_entries_)};
}

}  // namespace nodepack::bpf
