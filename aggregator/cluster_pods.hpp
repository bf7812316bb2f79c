#pragma once

// The aggregator's own figures for every node (--node-source api or auto): a cluster-wide watch of
// the pods bound to a node and not finished, each pod's requests computed by the agent's
// scheduler-exact code (kube/pod_requests.hpp), and every node's totals adjusted per event. A
// scrape or snapshot build reads the totals; nothing is summed per scrape and no API call is made.
//
// Memory is the point at millions of pods: a pod is kept as its key, its node's index and the ids
// of its requests' rows (aggregator/pod_index.hpp, aggregator/request_rows.hpp), about 30 bytes,
// never as its JSON or its parsed Pod. A list is taken page by page
// (kube::ReflectorSink::takes_pages) for the same reason. Owned by the work thread, like the
// Inventory.

#include "aggregator/pod_index.hpp"
#include "aggregator/request_rows.hpp"
#include "kube/pod.hpp"
#include "kube/pod_requests.hpp"
#include "kube/pod_store.hpp"
#include "kube/quantity.hpp"
#include "kube/reflector.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace nodepack::aggregator {

class ClusterPods final : public kube::ReflectorSink {
 public:
  // `tracked`: the resources any figure needs (--resources and the --fit-shape resources); "pods"
  // counts one per pod. `on_change` runs after every change to some node's totals.
  ClusterPods(std::vector<std::string> tracked, kube::ResizeSemantics semantics, std::function<void()> on_change);
  ClusterPods(const ClusterPods&) = delete;
  ClusterPods& operator=(const ClusterPods&) = delete;

  // The totals of one node (allocated includes "pods" when tracked), or nullptr: no counted pods.
  const kube::NodeTotals* node(const std::string& name) const;
  std::size_t pod_count() const { return pods_.size(); }
  std::size_t node_count() const { return totals_.size(); }
  // Distinct request rows held (the pods of one workload share theirs).
  std::size_t request_rows() const { return rows_.distinct(); }
  // Another in-place resize rule (kube/resize_tracker.hpp): only pods whose figures differ
  // between the two rules move.
  void set_semantics(kube::ResizeSemantics semantics);

  Result<void> replace(const std::vector<boost::json::value>& items) override;
  Result<void> apply(kube::WatchEventType type, const boost::json::value& object) override;
  bool takes_pages() const override { return true; }
  void begin_pages() override;
  Result<void> add_page(const std::vector<boost::json::value>& items) override;
  Result<void> finish_pages() override;

 private:
  // What one pod holds, before it is stored: its figures as quantities.
  struct Digest {
    std::string key;
    std::uint32_t node = 0;
    bool daemonset = false;
    std::vector<kube::Quantity> requests;  // per tracked resource, under the rule in force
    std::vector<kube::Quantity> other;     // under the other rule; empty when the same
  };

  // The digest of one pod, or nothing when it holds nothing on a node (unbound, finished).
  std::optional<Digest> digest(const kube::Pod& pod);
  bool same_figures(const PodRecord& record, const Digest& d) const;
  PodRecord store(const Digest& d);    // takes references to its rows
  void drop(const PodRecord& record);  // gives them back
  void clear(PodIndex& index);
  std::uint32_t node_index(const std::string& name);
  void account(const PodRecord& record, int sign);
  void rebuild_totals();

  std::vector<std::string> tracked_;
  kube::ResizeSemantics semantics_;
  std::function<void()> on_change_;
  std::vector<std::string> node_names_;
  std::unordered_map<std::string, std::uint32_t> node_ids_;
  RequestRows rows_;  // shared by pods_ and pending_, declared before them
  PodIndex pods_;
  PodIndex pending_;  // a list in progress (page by page)
  std::string pending_errors_;
  std::unordered_map<std::string, kube::NodeTotals> totals_;  // by node name
};

}  // namespace nodepack::aggregator
