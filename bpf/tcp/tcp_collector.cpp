#include "bpf/tcp/tcp_collector.hpp"

#include "bpf/bpf_stats.hpp"
#include "bpf/libbpf_log.hpp"
#include "bpf/map_reader.hpp"
#include "bpf/program_variants.hpp"
#include "bpf/skeleton.hpp"
#include "bpf/tcp/tcp.h"

#include "tcp.skel.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>

namespace nodepack::bpf {

namespace {
struct LinkDeleter {
  void operator()(bpf_link* l) const { bpf_link__destroy(l); }
};
using LinkPtr = std::unique_ptr<bpf_link, LinkDeleter>;
}  // namespace

struct TcpCollector::Impl {
  Skeleton<tcp_bpf> skel;
  bool skb_programs = false;
  std::map<std::filesystem::path, std::pair<LinkPtr, LinkPtr>> cgroup_links;  // ingress, egress
};

TcpCollector::TcpCollector(FeatureProbe& features, CgroupResolver& resolver)
    : features_(features), resolver_(resolver) {}
TcpCollector::~TcpCollector() = default;

Result<void> TcpCollector::start() {
  route_libbpf_logs_to_spdlog();
  auto flavor = choose_flavor(features_, {"tcp_retransmit_skb", "inet_sock_set_state", "tcp_probe"});
  if (!flavor) {
    return flavor.error();
  }
  auto skel = Skeleton<tcp_bpf>::open();
  if (!skel) {
    return skel.error();
  }
  auto& s = *skel;
  select_flavor(*flavor, {s->progs.tcp_retransmit_btf, s->progs.tcp_state_btf, s->progs.tcp_probe_btf},
                {s->progs.tcp_retransmit_raw, s->progs.tcp_state_raw, s->progs.tcp_probe_raw});
  const bool skb = features_.supports("cgroup_skb");
  bpf_program__set_autoload(s->progs.tcp_bytes_egress, skb);
  bpf_program__set_autoload(s->progs.tcp_bytes_ingress, skb);
  if (!skb) {
    spdlog::warn("bpf collector tcp: no cgroup_skb programs on this kernel; TCP byte counters stay 0");
  }
  if (auto r = s.load(); !r) {
    return r;
  }
  if (auto r = s.attach(); !r) {  // tracepoints; cgroup programs are attached per cgroup below
    return r;
  }
  spdlog::info("bpf collector tcp: attached ({})", to_string(*flavor));
  impl_ = std::make_unique<Impl>();
  impl_->skel = std::move(s);
  impl_->skb_programs = skb;
  attach_new_kubepods();
  return {};
}

void TcpCollector::attach_new_kubepods() {
  if (!impl_->skb_programs) {
    return;
  }
  for (const auto& dir : resolver_.kubepods_dirs()) {
    if (impl_->cgroup_links.contains(dir)) {
      continue;
    }
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
      spdlog::warn("bpf collector tcp: cannot open {}: {}", dir.string(), std::strerror(errno));
      continue;
    }
    LinkPtr in(bpf_program__attach_cgroup(impl_->skel->progs.tcp_bytes_ingress, fd));
    LinkPtr out(bpf_program__attach_cgroup(impl_->skel->progs.tcp_bytes_egress, fd));
    ::close(fd);  // the links keep the cgroup
    if (!in || !out) {
      spdlog::warn("bpf collector tcp: cannot attach byte counters to {}", dir.string());
      continue;
    }
    spdlog::info("bpf collector tcp: byte counters attached to {}", dir.string());
    impl_->cgroup_links.emplace(dir, std::make_pair(std::move(in), std::move(out)));
  }
}

std::vector<std::filesystem::path> TcpCollector::attached_cgroups() const {
  std::vector<std::filesystem::path> out;
  if (impl_) {
    for (const auto& [dir, links] : impl_->cgroup_links) {
      out.push_back(dir);
    }
  }
  return out;
}

std::vector<std::pair<std::uint64_t, TcpCollector::Value>> TcpCollector::read_cgroups() const {
  if (!impl_) {
    return {};
  }
  return read_percpu_hash_map<std::uint64_t, tcp_cg_stats, Value>(bpf_map__fd(impl_->skel->maps.cg_tcp),
                                                                  [](Value& acc, const tcp_cg_stats& v) {
                                                                    acc.retransmits += v.retransmits;
                                                                    acc.connections += v.connections;
                                                                    acc.bytes_sent += v.bytes_sent;
                                                                    acc.bytes_received += v.bytes_received;
                                                                    acc.rtt += v.rtt;
                                                                  });
}

Result<void> TcpCollector::collect(const ScrapeContext& ctx, std::vector<prometheus::MetricFamily>& out) {
  if (!impl_) {
    return fail("not started");
  }
  attach_new_kubepods();
  auto read = read_cgroups();
  last_entries_ = read.size();
  std::vector<std::uint64_t> drop;
  auto rows = series_.fold(ctx, read, drop);
  for (auto id : drop) {
    bpf_map_delete_elem(bpf_map__fd(impl_->skel->maps.cg_tcp), &id);
  }
  using prometheus::MetricType;
  auto sent = make_family("kpod_net_tcp_bytes_sent_total", "TCP bytes sent", MetricType::Counter);
  auto received = make_family("kpod_net_tcp_bytes_received_total", "TCP bytes received", MetricType::Counter);
  auto retrans = make_family("kpod_net_tcp_retransmits_total", "TCP retransmissions", MetricType::Counter);
  auto conns = make_family("kpod_net_tcp_connections_total", "TCP connection count", MetricType::Counter);
  auto rtt = make_family("kpod_net_tcp_rtt_seconds", "TCP round-trip time (seconds)", MetricType::Histogram);
  for (const auto& r : rows) {
    auto labels = pod_labels(r.id, ctx.node);
    sent.metric.push_back(counter_metric(labels, static_cast<double>(r.value.bytes_sent)));
    received.metric.push_back(counter_metric(labels, static_cast<double>(r.value.bytes_received)));
    retrans.metric.push_back(counter_metric(labels, static_cast<double>(r.value.retransmits)));
    conns.metric.push_back(counter_metric(labels, static_cast<double>(r.value.connections)));
    rtt.metric.push_back(histogram_metric(labels, r.value.rtt));
  }
  for (auto* f : {&sent, &received, &retrans, &conns, &rtt}) {
    out.push_back(std::move(*f));
  }
  return {};
}

std::vector<ProgramStats> TcpCollector::program_stats() const {
  return impl_ ? program_stats_of(impl_->skel->obj) : std::vector<ProgramStats>{};
}

std::vector<MapStats> TcpCollector::map_stats() const {
  if (!impl_) {
    return {};
  }
  return {map_stats_of(impl_->skel->maps.cg_tcp, last_entries_)};
}

}  // namespace nodepack::bpf
