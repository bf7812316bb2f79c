#include "bpf/oom/oom_collector.hpp"

#include "bpf/bpf_stats.hpp"
#include "bpf/libbpf_log.hpp"
#include "bpf/map_reader.hpp"
#include "bpf/metrics.hpp"
#include "bpf/oom/oom.h"
#include "bpf/program_variants.hpp"
#include "bpf/skeleton.hpp"

#include "oom.skel.h"

#include <spdlog/spdlog.h>

namespace nodepack::bpf {

struct OomCollector::Impl {
  Skeleton<oom_bpf> skel;
};

OomCollector::OomCollector(FeatureProbe& features) : features_(features) {}
OomCollector::~OomCollector() = default;

Result<void> OomCollector::start() {
  route_libbpf_logs_to_spdlog();
  if (!features_.supports("mark_victim:task")) {
    return fail(
        "this kernel's oom:mark_victim tracepoint does not pass the victim task; "
        "OOM kills per pod are not available from BPF here");
  }
  auto flavor = choose_flavor(features_, {"mark_victim"});
  if (!flavor) {
    return flavor.error();
  }
  auto skel = Skeleton<oom_bpf>::open();
  if (!skel) {
    return skel.error();
  }
  auto& s = *skel;
  select_flavor(*flavor, {s->progs.mark_victim_btf}, {s->progs.mark_victim_raw});
  if (auto r = s.load(); !r) {
    return r;
  }
  if (auto r = s.attach(); !r) {
    return r;
  }
  spdlog::info("bpf collector oom: attached ({})", to_string(*flavor));
  impl_ = std::make_unique<Impl>(Impl{std::move(s)});
  return {};
}

std::vector<std::pair<std::uint64_t, OomCollector::Value>> OomCollector::read_cgroups() const {
  std::vector<std::pair<std::uint64_t, Value>> out;
  if (!impl_) {
    return out;
  }
  for (const auto& [id, n] : read_hash_map<std::uint64_t, std::uint64_t>(bpf_map__fd(impl_->skel->maps.kills))) {
    out.emplace_back(id, Value{n});
  }
  return out;
}

Result<void> OomCollector::collect(const ScrapeContext& ctx, std::vector<prometheus::MetricFamily>& out) {
  if (!impl_) {
    return fail("not started");
  }
  auto read = read_cgroups();
  last_entries_ = read.size();
  std::vector<std::uint64_t> drop;
  auto rows = series_.fold(ctx, read, drop);
  for (auto id : drop) {
    bpf_map_delete_elem(bpf_map__fd(impl_->skel->maps.kills), &id);
  }
  auto kills =
      make_family("kpod_mem_oom_kills_total", "OOM kill events (victims in the pod)", prometheus::MetricType::Counter);
  for (const auto& r : rows) {
    kills.metric.push_back(counter_metric(pod_labels(r.id, ctx.node), static_cast<double>(r.value.kills)));
  }
  out.push_back(std::move(kills));
  return {};
}

std::vector<ProgramStats> OomCollector::program_stats() const {
  return impl_ ? program_stats_of(impl_->skel->obj) : std::vector<ProgramStats>{};
}

std::vector<MapStats> OomCollector::map_stats() const {
  if (!impl_) {
    return {};
  }
  return {map_stats_of(impl_->skel->maps.kills, last_entries_)};
}

}  // namespace nodepack::bpf
