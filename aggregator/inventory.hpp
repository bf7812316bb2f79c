#pragma once

// The aggregator's mutable inputs: the node set (a Node reflector), the agents (a reflector on the
// agent DaemonSet's pods, or --agents), every node's reports, and the unscheduled Pending pods.
// Owned by the work thread: the reflectors and the puller run there, and so does build_snapshot,
// so nothing here needs a lock. Everything outside the work thread reads snapshots instead.

#include "aggregator/aggregator_options.hpp"
#include "aggregator/report.hpp"
#include "aggregator/snapshot.hpp"
#include "aggregator/topology_rates.hpp"
#include "kube/pod_requests.hpp"
#include "kube/reflector.hpp"

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

namespace nodepack::aggregator {

class Inventory {
 public:
  // `on_change` runs after any change that alters a snapshot (node set, labels, allocatable,
  // agents, pending pods); the caller decides when to rebuild.
  Inventory(const AggregatorOptions& options, std::function<void()> on_change);

  kube::ReflectorSink& node_sink() { return node_sink_; }
  kube::ReflectorSink& agent_sink() { return agent_sink_; }
  kube::ReflectorSink& pending_sink() { return pending_sink_; }

  // This round's targets: discovered agents on tracked nodes (one per node), or the static list.
  std::vector<AgentTarget> targets() const;
  // Records one pull. A good report replaces the node's last good one; a failure is remembered
  // as the node's latest outcome and leaves the last good report in place.
  void record(const AgentTarget& target, PullResult<NodeReport> result, std::chrono::system_clock::time_point now);
  // The agent answered 304: its last good report still holds, as if built `now`. False when
  // there is none to confirm (the node is untracked, or its report was dropped).
  bool confirm(const AgentTarget& target, std::chrono::system_clock::time_point now);

  SnapshotInputs inputs(std::chrono::system_clock::time_point now) const {
    return SnapshotInputs{nodes_, reports_, pending_, now};
  }
  const NodeMap& nodes() const { return nodes_; }
  // The in-place resize rule pending pods are counted with (unscheduled pods have no resize status
  // yet, so this only matters once one is bound).
  void set_semantics(kube::ResizeSemantics semantics) { semantics_ = semantics; }
  std::size_t pending_count() const { return pending_.size(); }
  // Every node's latest topology block and its edges' rates, fed by record() and confirm().
  const TopologyRates& topology() const { return topology_; }

 private:
  template <class Owner>
  class Sink final : public kube::ReflectorSink {
   public:
    using ReplaceFn = Result<void> (Owner::*)(const std::vector<boost::json::value>&);
    using ApplyFn = Result<void> (Owner::*)(kube::WatchEventType, const boost::json::value&);
    Sink(Owner& owner, ReplaceFn replace_fn, ApplyFn apply_fn)
        : owner_(owner), replace_(replace_fn), apply_(apply_fn) {}
    Result<void> replace(const std::vector<boost::json::value>& items) override { return (owner_.*replace_)(items); }
    Result<void> apply(kube::WatchEventType type, const boost::json::value& object) override {
      return (owner_.*apply_)(type, object);
    }

   private:
    Owner& owner_;
    ReplaceFn replace_;
    ApplyFn apply_;
  };

  struct AgentPod {
    std::string uid;
    bool terminating = false;
    AgentTarget target;
  };

  Result<void> replace_nodes(const std::vector<boost::json::value>& items);
  Result<void> apply_node(kube::WatchEventType type, const boost::json::value& object);
  Result<void> replace_agents(const std::vector<boost::json::value>& items);
  Result<void> apply_agent(kube::WatchEventType type, const boost::json::value& object);
  Result<void> replace_pending(const std::vector<boost::json::value>& items);
  Result<void> apply_pending(kube::WatchEventType type, const boost::json::value& object);
  Result<AgentPod> parse_agent_pod(const boost::json::value& object) const;
  // Rebuilds has_agent flags after the agent set or node set changed.
  void refresh_agent_flags();

  AggregatorOptions options_;
  std::function<void()> on_change_;
  kube::ResizeSemantics semantics_ = kube::ResizeSemantics::per_container;
  NodeMap nodes_;
  ReportMap reports_;
  PendingMap pending_;
  TopologyRates topology_;
  std::unordered_map<std::string, AgentPod> agent_pods_;       // by pod uid
  std::unordered_map<std::string, std::string> static_nodes_;  // static target key -> node its reports name
  Sink<Inventory> node_sink_{*this, &Inventory::replace_nodes, &Inventory::apply_node};
  Sink<Inventory> agent_sink_{*this, &Inventory::replace_agents, &Inventory::apply_agent};
  Sink<Inventory> pending_sink_{*this, &Inventory::replace_pending, &Inventory::apply_pending};
};

}  // namespace nodepack::aggregator
