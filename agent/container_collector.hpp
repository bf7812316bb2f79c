#pragma once

// What the API says about each container bound to the node, per container as kpod-metrics
// exports it: kpod_container_restarts (the status's restartCount), and nodepack_agent_pods (pods
// the agent knows on the node, by phase), an operator's first check that the agent sees its pods.

#include "agent/node_state.hpp"

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <vector>

namespace nodepack::agent {

class ContainerCollector final : public prometheus::Collectable {
 public:
  explicit ContainerCollector(const NodeState& state) : state_(state) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const NodeState& state_;
};

}  // namespace nodepack::agent
