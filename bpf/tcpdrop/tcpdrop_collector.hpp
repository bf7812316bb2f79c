#pragma once

#include "bpf/collector.hpp"
#include "bpf/feature_probe.hpp"
#include "bpf/pod_series.hpp"

#include <memory>
#include <string>

namespace nodepack::bpf {

// kpod_net_tcp_drops_total from skb:kfree_skb with its drop reason (Linux 5.17+), charged
// through the dropped packet's socket; what counts is listed in tcpdrop.bpf.c.
class TcpDropCollector final : public Collector {
 public:
  struct Value {
    std::uint64_t drops = 0;
    Value& operator+=(const Value& o) {
      drops += o.drops;
      return *this;
    }
  };

  explicit TcpDropCollector(FeatureProbe& features);
  ~TcpDropCollector() override;

  std::string_view name() const override { return "tcpdrop"; }
  Result<void> start() override;
  Result<void> collect(const ScrapeContext& ctx, std::vector<prometheus::MetricFamily>& out) override;
  std::vector<ProgramStats> program_stats() const override;
  std::vector<MapStats> map_stats() const override;

  std::vector<std::pair<std::uint64_t, Value>> read_cgroups() const;
  // Whether the receiving socket of inbound drops is known (kernel passes rx_sk).
  bool sees_receiving_socket() const { return rx_sk_; }

 private:
  struct Impl;
  FeatureProbe& features_;
  std::unique_ptr<Impl> impl_;
  PodSeries<Value> series_;
  std::uint64_t last_entries_ = 0;
  bool rx_sk_ = false;
};

}  // namespace nodepack::bpf
