#pragma once

#include "bpf/collector.hpp"
#include "bpf/feature_probe.hpp"
#include "bpf/metrics.hpp"
#include "bpf/pod_series.hpp"

#include <filesystem>
#include <memory>

namespace nodepack::bpf {

// kpod_net_tcp_{retransmits,connections,bytes_sent,bytes_received}_total and
// kpod_net_tcp_rtt_seconds. Byte counters come from cgroup_skb programs attached to every
// kubepods cgroup the resolver finds (attached at start and whenever a new one appears).
class TcpCollector final : public Collector {
 public:
  struct Value {
    std::uint64_t retransmits = 0, connections = 0, bytes_sent = 0, bytes_received = 0;
    Log2Hist rtt;
    Value& operator+=(const Value& o) {
      retransmits += o.retransmits;
      connections += o.connections;
      bytes_sent += o.bytes_sent;
      bytes_received += o.bytes_received;
      rtt += o.rtt;
      return *this;
    }
  };

  TcpCollector(FeatureProbe& features, CgroupResolver& resolver);
  ~TcpCollector() override;

  std::string_view name() const override { return "tcp"; }
  Result<void> start() override;
  Result<void> collect(const ScrapeContext& ctx, std::vector<prometheus::MetricFamily>& out) override;
  std::vector<ProgramStats> program_stats() const override;
  std::vector<MapStats> map_stats() const override;

  std::vector<std::pair<std::uint64_t, Value>> read_cgroups() const;
  // cgroups the byte counters are attached to.
  std::vector<std::filesystem::path> attached_cgroups() const;

 private:
  void attach_new_kubepods();

  struct Impl;
  FeatureProbe& features_;
  CgroupResolver& resolver_;
  std::unique_ptr<Impl> impl_;
  PodSeries<Value> series_;
  std::uint64_t last_entries_ = 0;
};

}  // namespace nodepack::bpf
