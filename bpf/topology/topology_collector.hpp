#pragma once

#include "bpf/bpf_collector.hpp"
#include "bpf/feature_probe.hpp"
#include "bpf/topology/edge_table.hpp"
#include "cgroup/resolver.hpp"
#include "kpod/peers/topology.hpp"
#include "kpod/registry.hpp"

#include <memory>
#include <mutex>

namespace nodepack::bpf {

// kpod_net_connections_total and kpod_net_connection_failures_total per (pod, direction, named
// peer, port, protocol), and the same edges for the agent's /debug/topology and /report. TCP from
// the inet_sock_set_state tracepoint, UDP from cgroup sock_addr programs on every kubepods cgroup.
class TopologyCollector final : public BpfCollector, public kpod::TopologyView {
 public:
  TopologyCollector(FeatureProbe& features, cgroup::CgroupResolver& resolver, const kpod::CollectorOptions& options);
  ~TopologyCollector() override;

  Result<void> start() override;
  Result<void> collect(const kpod::ScrapeContext& ctx, std::vector<prometheus::MetricFamily>& out) override;
  // Folds the kernel's counts first, so it is current whether or not anyone scrapes.
  kpod::TopologySnapshot topology() override;

  // What the kernel map holds now.
  KernelEdges read_edges() const;

 private:
  // Folds the map and returns what it read; `scope` decides which pods count (the last scrape's; null before the first:
  // the kernel's skip list alone filters).
  KernelEdges refresh(const kpod::PodScope* scope);
  // The UDP programs onto kubepods cgroups that appeared since (a QoS class's first pod); under mu_.
  void attach_new_kubepods();

  struct Impl;
  FeatureProbe& features_;
  cgroup::CgroupResolver& resolver_;
  std::unique_ptr<Impl> impl_;
  std::mutex mu_;  // collect() on the scrape, topology() on the agent's HTTP thread
  EdgeTable table_;
  const kpod::PodScope* scope_ = nullptr;  // the registry's, which outlives its collectors
};

}  // namespace nodepack::bpf
