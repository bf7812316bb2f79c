#include "aggregator/inventory.hpp"

#include "kube/json_fields.hpp"
#include "kube/node.hpp"
#include "kube/parse_each.hpp"
#include "kube/pod.hpp"

#include <spdlog/spdlog.h>

#include <unordered_set>

namespace nodepack::aggregator {
namespace {

namespace json = boost::json;

bool same_node(const NodeInfo& a, const kube::Node& b) {
  return a.labels == b.labels && a.allocatable == b.allocatable;
}

std::shared_ptr<const NodeInfo> node_info(kube::Node node) {
  auto info = std::make_shared<NodeInfo>();
  info->name = std::move(node.name);
  info->labels = std::move(node.labels);
  info->allocatable = std::move(node.allocatable);
  return info;
}

// The requests a pending pod adds to demand, or nothing when the pod is not waiting for a node.
std::optional<kube::ResourceList> pending_requests(const kube::Pod& pod, kube::ResizeSemantics semantics) {
  if (!pod.node_name.empty() || pod.phase != "Pending" || pod.is_terminating()) {
    return std::nullopt;
  }
  return kube::compute_pod_requests(pod, semantics).requests;
}

std::string pod_key(const kube::Pod& pod) { return pod.uid.empty() ? pod.key() : pod.uid; }

}  // namespace

Inventory::Inventory(const AggregatorOptions& options, std::function<void()> on_change)
    : options_(options), on_change_(std::move(on_change)) {
  for (const auto& target : options_.agents) {
    if (!target.node.empty()) {
      static_nodes_[target.key()] = target.node;
    }
  }
}

// ---- nodes ----

Result<void> Inventory::replace_nodes(const std::vector<json::value>& items) {
  NodeMap fresh;
  const auto errors = kube::parse_each(items, kube::parse_node, [&](kube::Node node) {
    const auto existing = nodes_.find(node.name);
    if (existing != nodes_.end() && same_node(*existing->second, node)) {
      fresh.emplace(existing->first, existing->second);
    } else {
      std::string name = node.name;
      fresh.emplace(std::move(name), node_info(std::move(node)));
    }
  });
  for (auto it = reports_.begin(); it != reports_.end();) {
    if (fresh.contains(it->first)) {
      ++it;
    } else {
      topology_.forget(it->first);
      it = reports_.erase(it);
    }
  }
  nodes_ = std::move(fresh);
  refresh_agent_flags();
  on_change_();
  return kube::failed_items(errors);
}

Result<void> Inventory::apply_node(kube::WatchEventType type, const json::value& object) {
  if (type == kube::WatchEventType::deleted) {
    const auto* o = object.if_object();
    const auto* metadata = o != nullptr ? kube::object_field(*o, "metadata") : nullptr;
    const std::string name = metadata != nullptr ? kube::string_field(*metadata, "name") : std::string();
    if (name.empty()) {
      return fail("deleted node without metadata.name");
    }
    if (nodes_.erase(name) > 0) {
      reports_.erase(name);
      topology_.forget(name);
      on_change_();
    }
    return {};
  }
  auto node = kube::parse_node(object);
  if (!node) {
    return node.error();
  }
  const auto existing = nodes_.find(node->name);
  if (existing != nodes_.end() && same_node(*existing->second, *node)) {
    return {};  // status heartbeats and conditions: nothing a snapshot shows changed
  }
  const bool added = existing == nodes_.end();
  std::string name = node->name;
  nodes_[name] = node_info(std::move(*node));
  if (added) {
    refresh_agent_flags();
  }
  on_change_();
  return {};
}

// ---- agents ----

Result<Inventory::AgentPod> Inventory::parse_agent_pod(const json::value& object) const {
  const auto* o = object.if_object();
  if (o == nullptr) {
    return fail("agent pod: not an object");
  }
  const auto* metadata = kube::object_field(*o, "metadata");
  if (metadata == nullptr) {
    return fail("agent pod: no metadata");
  }
  AgentPod pod;
  pod.uid = kube::string_field(*metadata, "uid");
  if (pod.uid.empty()) {
    pod.uid = kube::string_field(*metadata, "namespace") + "/" + kube::string_field(*metadata, "name");
  }
  pod.terminating = metadata->contains("deletionTimestamp") && !metadata->at("deletionTimestamp").is_null();
  pod.target.port = std::to_string(options_.agent_port);
  if (const auto* spec = kube::object_field(*o, "spec"); spec != nullptr) {
    pod.target.node = kube::string_field(*spec, "nodeName");
    // A container port named "metrics" is where the agent says it listens.
    if (const auto* containers = spec->if_contains("containers"); containers != nullptr && containers->is_array()) {
      for (const auto& c : containers->get_array()) {
        const auto* ports = c.is_object() ? c.get_object().if_contains("ports") : nullptr;
        if (ports == nullptr || !ports->is_array()) {
          continue;
        }
        for (const auto& p : ports->get_array()) {
          if (!p.is_object() || kube::string_field(p.get_object(), "name") != "metrics") {
            continue;
          }
          const auto* number = p.get_object().if_contains("containerPort");
          if (number != nullptr && number->is_int64() && number->get_int64() > 0 && number->get_int64() < 65536) {
            pod.target.port = std::to_string(number->get_int64());
          }
        }
      }
    }
  }
  if (const auto* status = kube::object_field(*o, "status"); status != nullptr) {
    if (kube::string_field(*status, "phase") == "Running") {
      pod.target.host = kube::string_field(*status, "podIP");
    }
  }
  return pod;
}

Result<void> Inventory::replace_agents(const std::vector<json::value>& items) {
  agent_pods_.clear();
  const auto errors = kube::parse_each(
      items, [this](const json::value& item) { return parse_agent_pod(item); },
      [&](AgentPod pod) {
        std::string uid = pod.uid;
        agent_pods_[std::move(uid)] = std::move(pod);
      });
  refresh_agent_flags();
  on_change_();
  return kube::failed_items(errors);
}

Result<void> Inventory::apply_agent(kube::WatchEventType type, const json::value& object) {
  auto pod = parse_agent_pod(object);
  if (!pod) {
    return pod.error();
  }
  if (type == kube::WatchEventType::deleted) {
    agent_pods_.erase(pod->uid);
  } else {
    agent_pods_[pod->uid] = std::move(*pod);
  }
  refresh_agent_flags();
  on_change_();
  return {};
}

void Inventory::refresh_agent_flags() {
  for (auto& [node, state] : reports_) {
    state.has_agent = false;
  }
  const auto mark = [&](const std::string& node) {
    if (!node.empty() && nodes_.contains(node)) {
      reports_[node].has_agent = true;
    }
  };
  if (options_.static_agents()) {
    for (const auto& target : options_.agents) {
      mark(target.node);
    }
    for (const auto& [key, node] : static_nodes_) {
      mark(node);
    }
  } else {
    for (const auto& [uid, pod] : agent_pods_) {
      if (!pod.target.host.empty()) {
        mark(pod.target.node);
      }
    }
  }
}

std::vector<AgentTarget> Inventory::targets() const {
  if (options_.static_agents()) {
    std::vector<AgentTarget> out;
    for (const auto& target : options_.agents) {
      if (target.node.empty() || nodes_.contains(target.node)) {
        out.push_back(target);
      }
    }
    return out;
  }
  // One agent per tracked node; during a rollout prefer the pod that is not going away.
  std::unordered_map<std::string, const AgentPod*> by_node;
  for (const auto& [uid, pod] : agent_pods_) {
    if (pod.target.host.empty() || pod.target.node.empty() || !nodes_.contains(pod.target.node)) {
      continue;
    }
    auto& chosen = by_node[pod.target.node];
    if (chosen == nullptr || (chosen->terminating && !pod.terminating) ||
        (chosen->terminating == pod.terminating && pod.uid < chosen->uid)) {
      chosen = &pod;
    }
  }
  std::vector<AgentTarget> out;
  out.reserve(by_node.size());
  for (const auto& [node, pod] : by_node) {
    out.push_back(pod->target);
  }
  return out;
}

// ---- reports ----

void Inventory::record(const AgentTarget& target, PullResult<NodeReport> result,
                       std::chrono::system_clock::time_point now) {
  std::string node = target.node;
  if (node.empty()) {
    if (result) {
      node = result->node;
      static_nodes_[target.key()] = node;
    } else if (const auto it = static_nodes_.find(target.key()); it != static_nodes_.end()) {
      node = it->second;
    }
  }
  if (node.empty()) {
    spdlog::debug("pull from {} failed before it named a node: {}", target.key(),
                  result ? std::string() : result.error().message);
    return;
  }
  if (!nodes_.contains(node)) {
    return;  // not a tracked node (filtered by --node-selector, or gone)
  }
  auto& state = reports_[node];
  state.has_agent = true;
  if (result) {
    topology_.record(node, *result, now);
    state.good_confirmed = {};
    state.good = std::make_shared<const NodeReport>(std::move(*result));
    state.good_pulled = now;
    state.last_failure.reset();
  } else {
    state.last_failure = result.error();  // error() returns a copy already
  }
}

bool Inventory::confirm(const AgentTarget& target, std::chrono::system_clock::time_point now) {
  std::string node = target.node;
  if (node.empty()) {
    const auto it = static_nodes_.find(target.key());
    node = it == static_nodes_.end() ? std::string() : it->second;
  }
  const auto state = reports_.find(node);
  if (node.empty() || !nodes_.contains(node) || state == reports_.end() || !state->second.good) {
    return false;
  }
  state->second.good_confirmed = now;
  topology_.confirm(node, now);
  state->second.good_pulled = now;
  state->second.last_failure.reset();
  return true;
}

// ---- pending pods ----

Result<void> Inventory::replace_pending(const std::vector<json::value>& items) {
  pending_.clear();
  const auto errors = kube::parse_each(items, kube::parse_pod, [&](const kube::Pod& pod) {
    if (auto requests = pending_requests(pod, semantics_)) {
      pending_[pod_key(pod)] = std::move(*requests);
    }
  });
  on_change_();
  return kube::failed_items(errors);
}

Result<void> Inventory::apply_pending(kube::WatchEventType type, const json::value& object) {
  auto pod = kube::parse_pod(object);
  if (!pod) {
    return pod.error();
  }
  const std::string key = pod_key(*pod);
  std::optional<kube::ResourceList> requests;
  if (type != kube::WatchEventType::deleted) {
    requests = pending_requests(*pod, semantics_);
  }
  if (requests) {
    pending_[key] = std::move(*requests);
  } else if (pending_.erase(key) == 0) {
    return {};
  }
  on_change_();
  return {};
}

}  // namespace nodepack::aggregator
