#pragma once

#include "bpf/bpf_collector.hpp"
#include "bpf/feature_probe.hpp"
#include "bpf/summed.hpp"
#include "bpf/tcp/tcp.h"
#include "cgroup/resolver.hpp"
#include "kpod/pod_series.hpp"

#include <filesystem>
#include <memory>

namespace nodepack::bpf {

// kpod_net_tcp_{retransmits,connections,bytes_sent,bytes_received}_total and
// kpod_net_tcp_rtt_seconds. Byte counters come from cgroup_skb programs attached to every
// kubepods cgroup the resolver finds (attached at start and whenever a new one appears).
class TcpCollector final : public BpfCollector {
 public:
  using Value = Summed<tcp_cg_stats>;

  TcpCollector(FeatureProbe& features, cgroup::CgroupResolver& resolver);
  ~TcpCollector() override;

  Result<void> start() override;
  Result<void> collect(const kpod::ScrapeContext& ctx, std::vector<prometheus::MetricFamily>& out) override;

  std::vector<std::pair<std::uint64_t, Value>> read_cgroups() const;
  // cgroups the byte counters are attached to.
  std::vector<std::filesystem::path> attached_cgroups() const;

 private:
  void attach_new_kubepods();

  struct Impl;
  FeatureProbe& features_;
  cgroup::CgroupResolver& resolver_;
  std::unique_ptr<Impl> impl_;
  kpod::PodSeries<Value> series_;
};

}  // namespace nodepack::bpf
