#pragma once

#include "bpf/bpf_collector.hpp"
#include "bpf/dns/dns.h"
#include "bpf/dns/stale_queries.hpp"
#include "bpf/feature_probe.hpp"
#include "bpf/summed.hpp"
#include "cgroup/resolver.hpp"
#include "kpod/pod_series.hpp"

#include <chrono>
#include <memory>
#include <unordered_set>

namespace nodepack::bpf {

// kpod_dns_requests_total{rcode}, kpod_dns_latency_seconds (the pod as a DNS client) and
// kpod_dns_server_responses_total{rcode} (the pod answering DNS), from cgroup_skb programs
// attached to every kubepods cgroup the resolver finds (at start and whenever a new one appears);
// opt-in, kpod_dns_top_names_requests_total{name}: the node's most asked names.
class DnsCollector final : public BpfCollector {
 public:
  using Value = Summed<dns_cg_stats>;

  // Queries unanswered for longer than `timeout` count as rcode "timeout". `top_names` above 0
  // counts question names and exports that many of the most asked.
  DnsCollector(FeatureProbe& features, cgroup::CgroupResolver& resolver, std::chrono::nanoseconds timeout,
               std::size_t top_names);
  ~DnsCollector() override;

  Result<void> start() override;
  Result<void> collect(const kpod::ScrapeContext& ctx, std::vector<prometheus::MetricFamily>& out) override;

  // Per cgroup id: the kernel's counters with the timeouts swept so far added; the queries of
  // `ended` cgroups still unanswered are timeouts now.
  std::vector<std::pair<std::uint64_t, Value>> read_cgroups(const std::unordered_set<std::uint64_t>& ended = {});

 private:
  void emit_top_names(const kpod::ScrapeContext& ctx, std::vector<prometheus::MetricFamily>& out);

  struct Impl;
  FeatureProbe& features_;
  cgroup::CgroupResolver& resolver_;
  std::chrono::nanoseconds timeout_;
  std::size_t top_names_;
  std::unique_ptr<Impl> impl_;
  kpod::PodSeries<Value> series_;
};

}  // namespace nodepack::bpf
