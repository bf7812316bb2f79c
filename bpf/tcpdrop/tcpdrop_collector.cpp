// kpod_net_tcp_drops_total: packets of a pod's TCP sockets the kernel dropped (skb:kfree_skb with
// a drop reason), charged through the socket's cgroup.
#include "bpf/cgroup_map_collector.hpp"
#include "bpf/collectors.hpp"
#include "bpf/program_variants.hpp"
#include "bpf/tcpdrop/tcpdrop.h"

#include "tcpdrop.skel.h"

namespace nodepack::bpf {
namespace {

Result<CgroupMap> load(FeatureProbe& features) {
  if (!features.supports("kfree_skb:reason")) {
    return fail(
        "this kernel's skb:kfree_skb tracepoint has no drop reason (Linux 5.17+ needed); "
        "TCP drops per pod are not available here");
  }
  auto flavor = choose_flavor(features, {"kfree_skb"});
  if (!flavor) {
    return flavor.error();
  }
  // Linux 6.13 passes the receiving socket too: inbound drops are then charged to it.
  const bool rx_sk = features.supports("kfree_skb:rx_sk");
  const bool btf = *flavor == HookFlavor::tp_btf;
  auto skel = load_skeleton<tcpdrop_bpf>([&](tcpdrop_bpf* s) {
    bpf_program__set_autoload(s->progs.tcpdrop_rx_sk, btf && rx_sk);
    bpf_program__set_autoload(s->progs.tcpdrop_reason, btf && !rx_sk);
    bpf_program__set_autoload(s->progs.tcpdrop_rx_sk_raw, !btf && rx_sk);
    bpf_program__set_autoload(s->progs.tcpdrop_reason_raw, !btf && !rx_sk);
  });
  if (!skel) {
    return skel.error();
  }
  const bpf_map* map = (*skel)->maps.cg_drops;
  return CgroupMap{LoadedObject(std::move(*skel)), map,
                   std::string(to_string(*flavor)) +
                       (rx_sk ? ", inbound drops charged to the receiving socket"
                              : ", inbound drops charged only where the packet already carries its socket")};
}

void emit(const CgroupMapCollector<tcpdrop_cg_stats>::Rows& rows, const kpod::ScrapeContext& ctx,
          std::vector<prometheus::MetricFamily>& out) {
  auto drops = metrics::Family::counter(
      "kpod_net_tcp_drops_total",
      "Packets of the pod's TCP sockets dropped by the kernel (skb:kfree_skb with a drop reason)");
  for (const auto& r : rows) {
    drops.add(ctx.labels(r.id), static_cast<double>(r.value.drops));
  }
  std::move(drops).into(out);
}

}  // namespace

std::unique_ptr<kpod::Collector> make_tcpdrop_collector(const BpfDeps& deps) {
  return std::make_unique<CgroupMapCollector<tcpdrop_cg_stats>>("tcpdrop", deps.features, load, emit);
}

}  // namespace nodepack::bpf
