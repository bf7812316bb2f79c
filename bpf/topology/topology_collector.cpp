#include "bpf/topology/topology_collector.hpp"

#include "bpf/cgroup_attachments.hpp"
#include "bpf/collectors.hpp"
#include "bpf/map_reader.hpp"
#include "bpf/program_variants.hpp"

#include "topology.skel.h"

#include <spdlog/spdlog.h>

#include <optional>

namespace nodepack::bpf {

namespace {

std::vector<bpf_program*> udp_programs(const topology_bpf* s) {
  const auto& p = s->progs;
  return {p.topology_udp_connect4, p.topology_udp_connect6, p.topology_udp_sendmsg4,
          p.topology_udp_sendmsg6, p.topology_udp_recvmsg4, p.topology_udp_recvmsg6};
}

}  // namespace

struct TopologyCollector::Impl {
  topology_bpf* skel = nullptr;          // owned by the collector's LoadedObject
  std::optional<CgroupAttachments> udp;  // none without cgroup sock_addr programs
};

TopologyCollector::TopologyCollector(FeatureProbe& features, cgroup::CgroupResolver& resolver,
                                     const kpod::CollectorOptions& options)
    : features_(features),
      resolver_(resolver),
      table_(options.peers, options.peer_granularity, options.topology_max_peers) {}
TopologyCollector::~TopologyCollector() = default;

Result<void> TopologyCollector::start() {
  auto flavor = choose_flavor(features_, {"inet_sock_set_state"});
  if (!flavor) {
    return flavor.error();
  }
  const bool udp = features_.supports("cgroup_sock_addr");
  if (!udp) {
    spdlog::warn("bpf collector topology: no cgroup sock_addr programs with socket storage; UDP is not counted");
  }
  // Failures of connected UDP sockets, from the ICMP errors reported on them (Linux 5.14).
  const bool udp_failures = udp && features_.supports("tp_btf:inet_sk_error_report");
  if (udp && !udp_failures) {
    spdlog::warn("bpf collector topology: no inet_sk_error_report tracepoint; UDP failures are not counted");
  }
  // attach() takes the tracepoint; the UDP programs are attached per kubepods cgroup below.
  auto skel = load_skeleton<topology_bpf>([&](topology_bpf* s) {
    select_flavor(*flavor, {s->progs.topology_state_btf}, {s->progs.topology_state_raw});
    for (auto* prog : udp_programs(s)) {
      bpf_program__set_autoload(prog, udp);
    }
    bpf_program__set_autoload(s->progs.topology_udp_error, udp_failures);
  });
  if (!skel) {
    return skel.error();
  }
  spdlog::info("bpf collector topology: attached ({}{}{}, peers named by {})", to_string(*flavor),
               udp ? ", UDP from cgroup sock_addr programs" : "",
               udp_failures ? ", UDP failures from inet_sk_error_report" : "",
               kpod::granularity_name(table_.granularity()));
  auto shared = std::make_shared<Skeleton<topology_bpf>>(std::move(*skel));
  impl_ = std::make_unique<Impl>();
  impl_->skel = shared->get();
  if (udp) {
    impl_->udp.emplace("topology", udp_programs(impl_->skel));
  }
  adopt(LoadedObject(std::move(shared)));
  std::lock_guard lock(mu_);
  attach_new_kubepods();
  return {};
}

void TopologyCollector::attach_new_kubepods() {
  if (impl_->udp) {
    impl_->udp->attach_new(resolver_);
  }
}

KernelEdges TopologyCollector::read_edges() const {
  return impl_ ? read_hash_map<topology_key, topology_counts>(bpf_map__fd(impl_->skel->maps.edges)) : KernelEdges{};
}

KernelEdges TopologyCollector::refresh(const kpod::PodScope* scope) {
  auto read = read_edges();
  table_.fold(read, [&](std::uint64_t cgid) {
    auto id = resolver_.resolve(cgid);
    return id && (scope == nullptr || scope->tracks(*id)) ? id : nullptr;
  });
  return read;
}

Result<void> TopologyCollector::collect(const kpod::ScrapeContext& ctx, std::vector<prometheus::MetricFamily>& out) {
  if (!impl_) {
    return fail("not started");
  }
  std::lock_guard lock(mu_);
  attach_new_kubepods();
  scope_ = &ctx.scope;
  const auto read = refresh(scope_);
  record_map(impl_->skel->maps.edges, read.size());
  // Entries of cgroups gone from disk were read for the last time; those of filtered pods go too.
  const int fd = bpf_map__fd(impl_->skel->maps.edges);
  for (const auto& [key, counts] : read) {
    if (ctx.removed.contains(key.cgroup_id) || ctx.untracked.contains(key.cgroup_id)) {
      bpf_map_delete_elem(fd, &key);
    }
  }
  auto conns = metrics::Family::counter("kpod_net_connections_total",
                                        "Connections opened, per local pod, direction, peer and port");
  auto failures = metrics::Family::counter("kpod_net_connection_failures_total",
                                           "Outbound connection attempts that failed (TCP: refused, timed out, reset; "
                                           "UDP: ICMP errors a connected socket reported)");
  for (const auto& row : table_.rows()) {
    const auto& e = row.edge;
    auto labels = ctx.labels(row.local, {{"direction", e.direction},
                                         {"peer_namespace", e.peer_namespace},
                                         {"peer_workload", e.peer_workload},
                                         {"peer_kind", e.peer_kind},
                                         {"port", std::to_string(e.port)},
                                         {"protocol", e.protocol}});
    conns.add(labels, static_cast<double>(e.connections));
    failures.add(labels, static_cast<double>(e.failures));
  }
  metrics::emit(out, conns, failures);
  // A pod with no cgroup left on disk is gone: this scrape was its last.
  table_.drop_pods([&](const std::string& uid) { return ctx.resolver.pod_alive(uid); });
  return {};
}

kpod::TopologySnapshot TopologyCollector::topology() {
  kpod::TopologySnapshot snap;
  snap.granularity = table_.granularity();
  if (!impl_) {
    return snap;
  }
  std::lock_guard lock(mu_);
  attach_new_kubepods();
  refresh(scope_);
  for (auto& row : table_.rows()) {
    snap.edges.push_back(std::move(row.edge));
  }
  return snap;
}

std::unique_ptr<kpod::Collector> make_topology_collector(const BpfDeps& deps) {
  return std::make_unique<TopologyCollector>(deps.features, deps.collector.resolver, deps.collector.options);
}

}  // namespace nodepack::bpf
