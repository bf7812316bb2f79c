#include "bpf/dns/dns_collector.hpp"

#include "bpf/cgroup_attachments.hpp"
#include "bpf/cgroup_map_collector.hpp"
#include "bpf/collectors.hpp"
#include "bpf/dns/top_names.hpp"
#include "bpf/log2_hist.hpp"

#include "dns.skel.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <numeric>
#include <optional>
#include <string_view>

namespace nodepack::bpf {
namespace {

// Label values of dns_cg_stats' slots (dns.h), in slot order.
constexpr std::array<std::string_view, DNS_RCODE_SLOTS> kRcodeNames = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
                                                                       "NOTIMP",  "REFUSED", "other",    "timeout"};

// One sample per outcome that happened: a pod that never saw SERVFAIL has no SERVFAIL series.
void add_by_rcode(metrics::Family& family, const metrics::Labels& labels, const __u64 (&counts)[DNS_RCODE_SLOTS]) {
  for (std::size_t i = 0; i < DNS_RCODE_SLOTS; ++i) {
    if (counts[i] != 0) {
      auto with_rcode = labels;
      with_rcode.push_back({"rcode", std::string(kRcodeNames[i])});
      family.add(std::move(with_rcode), static_cast<double>(counts[i]));
    }
  }
}

}  // namespace

struct DnsCollector::Impl {
  explicit Impl(std::chrono::nanoseconds timeout) : stale(timeout) {}
  dns_bpf* skel = nullptr;  // owned by the collector's LoadedObject
  std::optional<CgroupAttachments> programs;
  StaleQueries stale;
};

DnsCollector::DnsCollector(FeatureProbe& features, cgroup::CgroupResolver& resolver, std::chrono::nanoseconds timeout,
                           std::size_t top_names)
    : features_(features), resolver_(resolver), timeout_(timeout), top_names_(top_names) {}
DnsCollector::~DnsCollector() = default;

Result<void> DnsCollector::start() {
  if (!features_.supports("cgroup_skb")) {
    return fail("no cgroup_skb programs on this kernel");
  }
  auto skel = load_skeleton<dns_bpf>([&](dns_bpf* s) {
    s->rodata->timeout_ns = static_cast<std::uint64_t>(timeout_.count());
    s->rodata->record_names = top_names_ > 0;
    if (top_names_ == 0) {
      bpf_map__set_max_entries(s->maps.names, 1);  // never written
    }
  });
  if (!skel) {
    return skel.error();
  }
  auto shared = std::make_shared<Skeleton<dns_bpf>>(std::move(*skel));
  impl_ = std::make_unique<Impl>(timeout_);
  impl_->skel = shared->get();
  impl_->programs.emplace("dns",
                          std::vector<bpf_program*>{impl_->skel->progs.dns_ingress, impl_->skel->progs.dns_egress});
  adopt(LoadedObject(std::move(shared)));
  impl_->programs->attach_new(resolver_);
  spdlog::info("bpf collector dns: loaded (cgroup_skb, timeout {} ms, top names {})",
               std::chrono::duration_cast<std::chrono::milliseconds>(timeout_).count(), top_names_);
  return {};
}

std::vector<std::pair<std::uint64_t, DnsCollector::Value>> DnsCollector::read_cgroups(
    const std::unordered_set<std::uint64_t>& ended) {
  if (!impl_) {
    return {};
  }
  const auto waiting = impl_->stale.sweep(impl_->skel->maps.inflight, ended);
  record_map(impl_->skel->maps.inflight, waiting);
  auto read = read_cgroup_map<dns_cg_stats>(impl_->skel->maps.cg_dns);
  for (const auto& [cgid, n] : impl_->stale.timeouts()) {
    auto it = std::find_if(read.begin(), read.end(), [&](const auto& r) { return r.first == cgid; });
    if (it == read.end()) {
      it = read.insert(read.end(), {cgid, Value{}});
    }
    it->second.requests[DNS_RCODE_TIMEOUT] += n;
  }
  return read;
}

Result<void> DnsCollector::collect(const kpod::ScrapeContext& ctx, std::vector<prometheus::MetricFamily>& out) {
  if (!impl_) {
    return fail("not started");
  }
  impl_->programs->attach_new(resolver_);
  const auto read = read_cgroups(ctx.removed);
  record_map(impl_->skel->maps.cg_dns, read.size());
  const auto rows = fold_and_drop(series_, ctx, read, impl_->skel->maps.cg_dns);
  impl_->stale.forget(ctx.removed);  // folded into the series' retired sums above
  auto requests =
      metrics::Family::counter("kpod_dns_requests_total", "DNS queries the pod sent, by response code (or timeout)");
  auto latency =
      metrics::Family::histogram("kpod_dns_latency_seconds", "DNS query to answer, as the pod saw it (seconds)");
  auto served = metrics::Family::counter("kpod_dns_server_responses_total",
                                         "DNS answers the pod sent from port 53 (pods serving DNS), by response code");
  for (const auto& r : rows) {
    auto labels = ctx.labels(r.id);
    add_by_rcode(requests, labels, r.value.requests);
    add_by_rcode(served, labels, r.value.answers_sent);
    const auto asked = std::accumulate(std::begin(r.value.requests), std::end(r.value.requests), std::uint64_t{0});
    if (asked != 0) {
      add_log2_histogram(latency, labels, r.value.latency);
    }
  }
  metrics::emit(out, requests, latency, served);
  if (top_names_ > 0) {
    emit_top_names(ctx, out);
  }
  return {};
}

void DnsCollector::emit_top_names(const kpod::ScrapeContext& ctx, std::vector<prometheus::MetricFamily>& out) {
  const auto top = read_top_names(impl_->skel->maps.names, top_names_);
  record_map(impl_->skel->maps.names, top.entries);
  auto names = metrics::Family::counter("kpod_dns_top_names_requests_total",
                                        "DNS queries the node's pods sent for each of the most asked names");
  for (const auto& [name, count] : top.names) {
    names.add(ctx.scope.node_labels(ctx.node, {{"name", name}}), static_cast<double>(count));
  }
  metrics::emit(out, names);
}

std::unique_ptr<kpod::Collector> make_dns_collector(const BpfDeps& deps) {
  const auto& options = deps.collector.options;
  return std::make_unique<DnsCollector>(deps.features, deps.collector.resolver, options.dns_timeout,
                                        options.dns_top_names);
}

}  // namespace nodepack::bpf
