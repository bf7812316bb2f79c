#pragma once

// One immutable view of the cluster, built after each pull round or change to the node set, and
// read whole by every scrape, /api/snapshot and /sync: a scrape never sees half of a round.
//
// Freshness, and what a node without a usable report contributes:
//  - fresh:   its last good report is within --stale-after (by the report's built_at and by the
//             time it was pulled);
//  - stale:   it had a good report once, but that report is now older than --stale-after;
//  - missing: no good report yet (no agent on the node, agent unreachable, agent not synced);
//  - invalid: the agent's latest answer was not a good report (malformed, wrong types, wrong
//             node, oversized).
// A node's last good report keeps counting while it is within --stale-after, whatever the state
// (an invalid answer or a failed pull does not erase a minute-old good report). Beyond that the
// node counts in node_count (cluster and group) but contributes neither allocated nor
// allocatable, DaemonSet overhead, fit or stranded capacity, and has no node series: summing its
// allocatable without its allocated would report capacity as free that may be full, and both
// utilization and fit would be wrong in the optimistic direction. The node is named in /sync and
// counted in nodepack_aggregator_nodes{state}.

#include "aggregator/aggregator_options.hpp"
#include "aggregator/report.hpp"
#include "kube/pod_store.hpp"
#include "kube/quantity.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace nodepack::aggregator {

// A Node as the API server has it: the authority for the node set, labels and allocatable.
struct NodeInfo {
  std::string name;
  std::map<std::string, std::string> labels;
  kube::ResourceList allocatable;
};

// What the aggregator knows about one node's reports.
struct ReportState {
  std::shared_ptr<const NodeReport> good;             // the last good report, if any
  std::chrono::system_clock::time_point good_pulled;  // when `good` arrived
  // When the agent last confirmed `good` unchanged (304). Kept beside the report, not written into
  // a copy of it: a confirmation is most pulls of a quiet cluster.
  std::chrono::system_clock::time_point good_confirmed;
  std::optional<PullFailure> last_failure;  // of the latest pull; cleared by a good one
  bool has_agent = false;                   // an agent is known for this node

  // As of when `good`'s figures are known current: built then, or confirmed since.
  std::chrono::system_clock::time_point good_built() const {
    return good ? std::max(good->built_at, good_confirmed) : good_confirmed;
  }
};

enum class Freshness { fresh = 0, stale = 1, missing = 2, invalid = 3 };
inline constexpr std::array<const char*, 4> freshness_names{"fresh", "stale", "missing", "invalid"};

// Where a node's summed figures come from (--node-source): its agent's report, the aggregator's
// own pod watch, or nowhere (the node adds nothing).
enum class NodeFigures { none = 0, agent = 1, api = 2 };
inline constexpr std::array<const char*, 3> figures_names{"none", "agent", "api"};

// What the snapshot is built with; fixed for the life of the process.
struct SnapshotConfig {
  std::vector<std::string> resources;
  std::vector<LabelGroup> label_groups;
  std::vector<FitShape> fit_shapes;
  std::chrono::nanoseconds stale_after = std::chrono::minutes(2);
  bool node_metrics = true;
  bool pending_enabled = true;
  NodeSource node_source = NodeSource::agents;

  static SnapshotConfig from(const AggregatorOptions& options);
};

using NodeMap = std::map<std::string, std::shared_ptr<const NodeInfo>, std::less<>>;
using ReportMap = std::unordered_map<std::string, ReportState>;
using PendingMap = std::unordered_map<std::string, kube::ResourceList>;  // pod uid -> requests

// The aggregator's own figures (aggregator/cluster_pods.hpp), for --node-source api and auto.
struct OwnFigures {
  std::function<const kube::NodeTotals*(const std::string&)> node;  // nullptr: no counted pods there
  bool usable = false;  // the pod watch is synced and not failing for longer than --stale-after
  std::string reason;   // why not usable
};

struct SnapshotInputs {
  const NodeMap& nodes;
  const ReportMap& reports;
  const PendingMap& pending;
  std::chrono::system_clock::time_point now;
  OwnFigures own = {};
};

// Sums over a set of nodes. Quantities are exact; conversion to exported numbers happens at render.
struct Aggregate {
  std::int64_t node_count = 0;                        // every node in the set
  std::int64_t reporting_nodes = 0;                   // nodes whose values are summed (a usable report)
  std::vector<kube::Quantity> allocated;              // per resource, in config order
  std::vector<kube::Quantity> allocatable;            // per resource
  std::vector<kube::Quantity> daemonset;              // per resource
  std::vector<std::int64_t> fit;                      // per shape
  std::vector<std::vector<kube::Quantity>> stranded;  // [shape][resource]

  void reset(std::size_t resources, std::size_t shapes);
};

struct NodeRow {
  std::shared_ptr<const NodeInfo> info;
  Freshness state = Freshness::missing;
  bool usable = false;                       // values summed (last good report within --stale-after)
  std::string reason;                        // why the node is not fresh; empty when fresh
  std::optional<double> report_age_seconds;  // of the last good report
  std::uint64_t generation = 0;
  std::vector<kube::Quantity> allocatable;  // per resource; from the Node, the report filling gaps
  std::vector<kube::Quantity> allocated;    // per resource; zero when not usable
  std::vector<kube::Quantity> daemonset;    // per resource; zero when not usable
  std::vector<std::int64_t> fit;            // per shape; zero when not usable
  NodeFigures source = NodeFigures::none;   // where allocated, DaemonSet and fit come from
};

struct GroupTable {
  const LabelGroup* group = nullptr;        // points into config
  std::map<std::string, Aggregate> values;  // label_group_value -> sums
};

struct Snapshot {
  std::shared_ptr<const SnapshotConfig> config;
  std::chrono::system_clock::time_point built_at;
  std::uint64_t sequence = 0;
  std::vector<NodeRow> nodes;  // sorted by name
  Aggregate cluster;
  std::vector<GroupTable> groups;                 // one per --label-group, in flag order
  std::vector<kube::Quantity> pending_requested;  // per resource ("pods": one per pod)
  std::int64_t pending_pods = 0;
  std::array<std::int64_t, 4> state_counts{};   // by Freshness
  std::array<std::int64_t, 3> source_counts{};  // by NodeFigures
};

// How many more pods of `shape` fit in `free` (allocatable minus allocated, per resource), with
// `free_pods` pod slots left (nullopt: the node does not report a pod limit).
std::int64_t fit_count(const FitShape& shape, const kube::ResourceList& allocatable,
                       const kube::ResourceList& allocated, std::optional<std::int64_t> free_pods);

std::shared_ptr<const Snapshot> build_snapshot(const SnapshotInputs& inputs,
                                               std::shared_ptr<const SnapshotConfig> config, std::uint64_t sequence);

}  // namespace nodepack::aggregator
