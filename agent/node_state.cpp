#include "agent/node_state.hpp"

#include "kube/json_fields.hpp"
#include "kube/parse_each.hpp"

#include <spdlog/spdlog.h>

namespace nodepack::agent {

NodeState::NodeState(std::string node_name, kube::ResizeSemantics semantics)
    : node_name_(std::move(node_name)), pods_(semantics) {}

std::optional<kube::Node> NodeState::node() const {
  std::lock_guard lock(mutex_);
  return node_;
}

std::uint64_t NodeState::generation() const {
  std::lock_guard lock(mutex_);
  return node_generation_ + pods_.totals().generation;
}

void NodeState::set_node(std::optional<kube::Node> node) {
  std::lock_guard lock(mutex_);
  node_ = std::move(node);
  ++node_generation_;
}

Result<void> NodeState::NodeSink::replace(const std::vector<boost::json::value>& items) {
  std::optional<kube::Node> found;
  const auto errors = kube::parse_each(items, kube::parse_node, [&](kube::Node node) {
    // The field selector already limits the list to our node; check anyway so a server that
    // ignores selectors cannot make us report someone else's node.
    if (node.name == state_.node_name_) {
      found = std::move(node);
    }
  });
  if (!found) {
    spdlog::warn("node {} is not in the API server's node list", state_.node_name_);
  }
  state_.set_node(std::move(found));
  return kube::failed_items(errors);
}

Result<void> NodeState::NodeSink::apply(kube::WatchEventType type, const boost::json::value& object) {
  auto node = kube::parse_node(object);
  if (!node) {
    return node.error();
  }
  if (node->name != state_.node_name_) {
    return {};
  }
  if (type == kube::WatchEventType::deleted) {
    spdlog::warn("node {} was deleted", node->name);
    state_.set_node(std::nullopt);
  } else {
    state_.set_node(std::move(*node));
  }
  return {};
}

Result<void> NodeState::PodSink::replace(const std::vector<boost::json::value>& items) {
  begin_pages();
  auto added = add_page(items);
  auto finished = finish_pages();
  return added ? finished : added;
}

Result<void> NodeState::PodSink::add_page(const std::vector<boost::json::value>& items) {
  const auto errors = kube::parse_each(items, kube::parse_pod, [&](kube::Pod pod) {
    if (pod.node_name == state_.node_name_) {
      listed_.push_back(std::move(pod));
    }
  });
  return kube::failed_items(errors);
}

Result<void> NodeState::PodSink::finish_pages() {
  const auto pods = std::move(listed_);
  listed_ = {};
  state_.pods_.replace(pods);
  for (auto* l : state_.listeners_) {
    l->pods_replaced(pods);
  }
  return {};
}

Result<void> NodeState::PodSink::apply(kube::WatchEventType type, const boost::json::value& object) {
  auto pod = kube::parse_pod(object);
  if (!pod) {
    // A malformed DELETED event must not leave a stale pod behind: it only needs the UID.
    if (type == kube::WatchEventType::deleted && object.is_object()) {
      if (const auto* metadata = kube::object_field(object.as_object(), "metadata"); metadata != nullptr) {
        const std::string uid = kube::string_field(*metadata, "uid");
        state_.pods_.remove(uid);
        for (auto* l : state_.listeners_) {
          l->pod_removed(uid);
        }
      }
    }
    return pod.error();
  }
  if (type == kube::WatchEventType::deleted || pod->node_name != state_.node_name_) {
    state_.pods_.remove(pod->uid);
    for (auto* l : state_.listeners_) {
      l->pod_removed(pod->uid);
    }
  } else {
    state_.pods_.upsert(*pod);
    for (auto* l : state_.listeners_) {
      l->pod_upserted(*pod);
    }
  }
  return {};
}

}  // namespace nodepack::agent
