#include "bpf/tcpdrop/tcpdrop_collector.hpp"

#include "bpf/bpf_stats.hpp"
#include "bpf/libbpf_log.hpp"
#include "bpf/map_reader.hpp"
#include "bpf/metrics.hpp"
#include "bpf/program_variants.hpp"
#include "bpf/skeleton.hpp"
#include "bpf/tcpdrop/tcpdrop.h"

#include "tcpdrop.skel.h"

#include <spdlog/spdlog.h>

namespace nodepack::bpf {

struct TcpDropCollector::Impl {
  Skeleton<tcpdrop_bpf> skel;
};

TcpDropCollector::TcpDropCollector(FeatureProbe& features) : features_(features) {}
TcpDropCollector::~TcpDropCollector() = default;

Result<void> TcpDropCollector::start() {
  route_libbpf_logs_to_spdlog();
  if (!features_.supports("kfree_skb:reason")) {
    return fail(
        "this kernel's skb:kfree_skb tracepoint has no drop reason (Linux 5.17+ needed); "
        "TCP drops per pod are not available here");
  }
  auto flavor = choose_flavor(features_, {"kfree_skb"});
  if (!flavor) {
    return flavor.error();
  }
  const bool rx_sk = features_.supports("kfree_skb:rx_sk");
  auto skel = Skeleton<tcpdrop_bpf>::open();
  if (!skel) {
    return skel.error();
  }
  auto& s = *skel;
  const bool btf = *flavor == HookFlavor::tp_btf;
  bpf_program__set_autoload(s->progs.tcpdrop_rx_sk, btf && rx_sk);
  bpf_program__set_autoload(s->progs.tcpdrop_reason, btf && !rx_sk);
  bpf_program__set_autoload(s->progs.tcpdrop_rx_sk_raw, !btf && rx_sk);
  bpf_program__set_autoload(s->progs.tcpdrop_reason_raw, !btf && !rx_sk);
  if (auto r = s.load(); !r) {
    return r;
  }
  if (auto r = s.attach(); !r) {
    return r;
  }
  rx_sk_ = rx_sk;
  spdlog::info("bpf collector tcpdrop: attached ({}, {})", to_string(*flavor),
               rx_sk ? "inbound drops charged to the receiving socket"
                     : "inbound drops charged only where the packet already carries its socket");
  impl_ = std::make_unique<Impl>(Impl{std::move(s)});
  return {};
}

std::vector<std::pair<std::uint64_t, TcpDropCollector::Value>> TcpDropCollector::read_cgroups() const {
  if (!impl_) {
    return {};
  }
  return read_percpu_hash_map<std::uint64_t, tcpdrop_cg_stats, Value>(
      bpf_map__fd(impl_->skel->maps.cg_drops), [](Value& acc, const tcpdrop_cg_stats& v) { acc.drops += v.drops; });
}

Result<void> TcpDropCollector::collect(const ScrapeContext& ctx, std::vector<prometheus::MetricFamily>& out) {
  if (!impl_) {
    return fail("not started");
  }
  auto read = read_cgroups();
  last_entries_ = read.size();
  std::vector<std::uint64_t> drop;
  auto rows = series_.fold(ctx, read, drop);
  for (auto id : drop) {
    bpf_map_delete_elem(bpf_map__fd(impl_->skel->maps.cg_drops), &id);
  }
  auto drops = make_family("kpod_net_tcp_drops_total",
                           "Packets of the pod's TCP sockets dropped by the kernel (skb:kfree_skb with a drop reason)",
                           prometheus::MetricType::Counter);
  for (const auto& r : rows) {
    drops.metric.push_back(counter_metric(pod_labels(r.id, ctx.node), static_cast<double>(r.value.drops)));
  }
  out.push_back(std::move(drops));
  return {};
}

std::vector<ProgramStats> TcpDropCollector::program_stats() const {
  return impl_ ? program_stats_of(impl_->skel->obj) : std::vector<ProgramStats>{};
}

std::vector<MapStats> TcpDropCollector::map_stats() const {
  if (!impl_) {
    return {};
  }
  return {map_stats_of(impl_->skel->maps.cg_drops, last_entries_)};
}

}  // namespace nodepack::bpf
