#pragma once

// What the API says about each container bound to the node, per container as kpod-metrics
// exports it: kpod_container_restarts (the status's restartCount, for the pods kpod's filters
// keep, with the same extra labels as every kpod_* series), nodepack_agent_pods (pods the agent
// knows on the node, by phase), an operator's first check that the agent sees its pods, and
// nodepack_kpod_pods (how many of them the filters keep and leave out).

#include "agent/node_state.hpp"
#include "kpod/scope/pod_scope.hpp"
#include "metrics/streamed_collector.hpp"

namespace nodepack::agent {

// A series per container: written straight as text at a scrape (metrics/streamed_collector.hpp).
class ContainerCollector final : public metrics::StreamedCollector {
 public:
  ContainerCollector(const NodeState& state, kpod::PodScope scope) : state_(state), scope_(std::move(scope)) {}

 protected:
  void collect(metrics::FamilyOutput& out) const override;

 private:
  const NodeState& state_;
  kpod::PodScope scope_;
};

}  // namespace nodepack::agent
