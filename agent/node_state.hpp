#pragma once

// What the agent knows about its node: the Node object and the pods bound to it. The two
// reflectors write here through their sinks; metrics, the report and debug pages read here.

#include "kube/node.hpp"
#include "kube/pod_store.hpp"
#include "kube/reflector.hpp"

#include <atomic>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace nodepack::agent {

// Told of every pod change after the store applied it, on the reflector's thread: usage
// accounting integrates requests between events, and the agent coalesces them into one
// "pods changed" per second for the sources that re-read something (cgroups, NUMA names).
class PodListener {
 public:
  virtual ~PodListener() = default;
  virtual void pod_upserted(const kube::Pod& pod) = 0;
  virtual void pod_removed(const std::string& uid) = 0;
  // After a relist: `pods` is everything bound to the node now.
  virtual void pods_replaced(const std::vector<kube::Pod>& pods) = 0;
};

class NodeState {
 public:
  NodeState(std::string node_name, kube::ResizeSemantics semantics);

  const std::string& node_name() const { return node_name_; }
  std::optional<kube::Node> node() const;
  const kube::PodStore& pods() const { return pods_; }
  kube::PodStore& pods() { return pods_; }
  // Changes to the node or any pod; the node report's generation.
  std::uint64_t generation() const;

  kube::ReflectorSink& node_sink() { return node_sink_; }
  kube::ReflectorSink& pod_sink() { return pod_sink_; }
  // Any number, told in the order they subscribed; subscribe before the reflectors start.
  void subscribe(PodListener* listener) { listeners_.push_back(listener); }
  void unsubscribe(PodListener* listener) { std::erase(listeners_, listener); }

 private:
  class NodeSink final : public kube::ReflectorSink {
   public:
    explicit NodeSink(NodeState& state) : state_(state) {}
    Result<void> replace(const std::vector<boost::json::value>& items) override;
    Result<void> apply(kube::WatchEventType type, const boost::json::value& object) override;

   private:
    NodeState& state_;
  };
  // Takes a list's items as they are parsed, so a list of real pods (20 KB each) is held as the
  // compact pods it becomes, never as parsed JSON all at once; its first list stays the cached one.
  class PodSink final : public kube::ReflectorSink {
   public:
    explicit PodSink(NodeState& state) : state_(state) {}
    Result<void> replace(const std::vector<boost::json::value>& items) override;
    Result<void> apply(kube::WatchEventType type, const boost::json::value& object) override;
    bool takes_pages() const override { return true; }
    bool pages_first_list() const override { return false; }
    void begin_pages() override { listed_.clear(); }
    Result<void> add_page(const std::vector<boost::json::value>& items) override;
    Result<void> finish_pages() override;

   private:
    NodeState& state_;
    std::vector<kube::Pod> listed_;  // the list being read
  };

  void set_node(std::optional<kube::Node> node);

  std::string node_name_;
  mutable std::mutex mutex_;
  std::optional<kube::Node> node_;
  std::uint64_t node_generation_ = 0;
  kube::PodStore pods_;
  std::vector<PodListener*> listeners_;
  NodeSink node_sink_{*this};
  PodSink pod_sink_{*this};
};

}  // namespace nodepack::agent
