#include "bpf/tcp/tcp_collector.hpp"

#include "bpf/cgroup_attachments.hpp"
#include "bpf/cgroup_map_collector.hpp"
#include "bpf/collectors.hpp"
#include "bpf/log2_hist.hpp"
#include "bpf/map_reader.hpp"
#include "bpf/program_variants.hpp"
#include "bpf/tcp/tcp.h"

#include "tcp.skel.h"

#include <spdlog/spdlog.h>

#include <optional>

namespace nodepack::bpf {

struct TcpCollector::Impl {
  tcp_bpf* skel = nullptr;                         // owned by the collector's LoadedObject
  std::optional<CgroupAttachments> byte_counters;  // none without cgroup_skb programs
};

TcpCollector::TcpCollector(FeatureProbe& features, cgroup::CgroupResolver& resolver)
    : features_(features), resolver_(resolver) {}
TcpCollector::~TcpCollector() = default;

Result<void> TcpCollector::start() {
  // With cgroup_skb the ingress program reads the RTT of each received segment along with its
  // bytes, so tcp_probe's tracepoint (a second program per segment) is loaded only without it.
  const bool skb = features_.supports("cgroup_skb");
  auto flavor = skb ? choose_flavor(features_, {"tcp_retransmit_skb", "inet_sock_set_state"})
                    : choose_flavor(features_, {"tcp_retransmit_skb", "inet_sock_set_state", "tcp_probe"});
  if (!flavor) {
    return flavor.error();
  }
  if (!skb) {
    spdlog::warn("bpf collector tcp: no cgroup_skb programs on this kernel; TCP byte counters stay 0");
  }
  // attach() takes the tracepoints; the cgroup programs are attached per kubepods cgroup below.
  auto skel = load_skeleton<tcp_bpf>([&](tcp_bpf* s) {
    select_flavor(*flavor, {s->progs.tcp_retransmit_btf, s->progs.tcp_state_btf, s->progs.tcp_probe_btf},
                  {s->progs.tcp_retransmit_raw, s->progs.tcp_state_raw, s->progs.tcp_probe_raw});
    if (skb) {
      bpf_program__set_autoload(s->progs.tcp_probe_btf, false);
      bpf_program__set_autoload(s->progs.tcp_probe_raw, false);
    }
    bpf_program__set_autoload(s->progs.tcp_bytes_egress, skb);
    bpf_program__set_autoload(s->progs.tcp_bytes_ingress, skb);
  });
  if (!skel) {
    return skel.error();
  }
  spdlog::info("bpf collector tcp: attached ({})", to_string(*flavor));
  auto shared = std::make_shared<Skeleton<tcp_bpf>>(std::move(*skel));
  impl_ = std::make_unique<Impl>();
  impl_->skel = shared->get();
  if (skb) {
    impl_->byte_counters.emplace(
        "tcp", std::vector<bpf_program*>{impl_->skel->progs.tcp_bytes_ingress, impl_->skel->progs.tcp_bytes_egress});
  }
  adopt(LoadedObject(std::move(shared)));
  attach_new_kubepods();
  return {};
}

void TcpCollector::attach_new_kubepods() {
  if (impl_->byte_counters) {
    impl_->byte_counters->attach_new(resolver_);
  }
}

std::vector<std::filesystem::path> TcpCollector::attached_cgroups() const {
  return impl_ && impl_->byte_counters ? impl_->byte_counters->attached() : std::vector<std::filesystem::path>{};
}

std::vector<std::pair<std::uint64_t, TcpCollector::Value>> TcpCollector::read_cgroups() const {
  return impl_ ? read_cgroup_map<tcp_cg_stats>(impl_->skel->maps.cg_tcp)
               : std::vector<std::pair<std::uint64_t, Value>>{};
}

Result<void> TcpCollector::collect(const kpod::ScrapeContext& ctx, std::vector<prometheus::MetricFamily>& out) {
  if (!impl_) {
    return fail("not started");
  }
  attach_new_kubepods();
  const auto read = read_cgroups();
  record_map(impl_->skel->maps.cg_tcp, read.size());
  const auto rows = fold_and_drop(series_, ctx, read, impl_->skel->maps.cg_tcp);
  auto sent = metrics::Family::counter("kpod_net_tcp_bytes_sent_total", "TCP bytes sent");
  auto received = metrics::Family::counter("kpod_net_tcp_bytes_received_total", "TCP bytes received");
  auto retrans = metrics::Family::counter("kpod_net_tcp_retransmits_total", "TCP retransmissions");
  auto conns = metrics::Family::counter("kpod_net_tcp_connections_total", "TCP connection count");
  auto rtt = metrics::Family::histogram("kpod_net_tcp_rtt_seconds", "TCP round-trip time (seconds)");
  for (const auto& r : rows) {
    auto labels = ctx.labels(r.id);
    sent.add(labels, static_cast<double>(r.value.bytes_sent));
    received.add(labels, static_cast<double>(r.value.bytes_received));
    retrans.add(labels, static_cast<double>(r.value.retransmits));
    conns.add(labels, static_cast<double>(r.value.connections));
    add_log2_histogram(rtt, labels, r.value.rtt);
  }
  metrics::emit(out, sent, received, retrans, conns, rtt);
  return {};
}

std::unique_ptr<kpod::Collector> make_tcp_collector(const BpfDeps& deps) {
  return std::make_unique<TcpCollector>(deps.features, deps.collector.resolver);
}

}  // namespace nodepack::bpf
