#include "sim/scheduler.hpp"

#include "kube/node.hpp"
#include "kube/pod.hpp"
#include "kube/pod_requests.hpp"

#include <algorithm>

namespace nodepack::sim {

std::optional<kube::ResourceList> held_requests(const boost::json::object& object) {
  auto pod = kube::parse_pod(object);
  if (!pod || !kube::pod_counts_toward_node(*pod)) {
    return std::nullopt;
  }
  return kube::compute_pod_requests(*pod).requests;
}

namespace {

std::string node_of(const boost::json::object& pod) {
  const auto* spec = pod.if_contains("spec");
  if (spec == nullptr || !spec->is_object()) {
    return {};
  }
  const auto* name = spec->get_object().if_contains("nodeName");
  return name != nullptr && name->is_string() ? std::string(name->get_string()) : std::string();
}

void subtract(kube::ResourceList& from, const kube::ResourceList& what) {
  for (const auto& [name, q] : what) {
    from[name] -= q;
  }
}

}  // namespace

Scheduler::Scheduler(const std::vector<ObjectPtr>& nodes, const std::vector<ObjectPtr>& pods) {
  for (const auto& object : nodes) {
    auto node = kube::parse_node(*object);
    if (!node) {
      continue;
    }
    NodeRoom room;
    room.allocatable = node->allocatable;
    if (auto it = room.allocatable.find("pods"); it != room.allocatable.end()) {
      room.max_pods = it->second.value_ceil();
    }
    nodes_.emplace(node->name, std::move(room));
  }
  for (const auto& pod : pods) {
    auto it = nodes_.find(node_of(*pod));
    if (it == nodes_.end()) {
      continue;
    }
    if (auto held = held_requests(*pod)) {
      kube::add_into(it->second.held, *held);
      ++it->second.pods;
    }
  }
}

std::vector<std::string> Scheduler::shortfalls(const NodeRoom& room, const kube::ResourceList& requests) const {
  std::vector<std::string> out;
  if (room.pods + 1 > room.max_pods) {
    out.emplace_back("Too many pods");
  }
  for (const auto& [name, q] : requests) {
    if (name == "pods" || q.is_zero()) {
      continue;
    }
    kube::Quantity used = q;
    if (auto h = room.held.find(name); h != room.held.end()) {
      used += h->second;
    }
    const auto a = room.allocatable.find(name);
    const kube::Quantity allocatable = a == room.allocatable.end() ? kube::Quantity() : a->second;
    // The scheduler compares cpu in millicores and everything else in whole units.
    const bool over = name == "cpu" ? used.milli_value_ceil() > allocatable.milli_value_ceil()
                                    : used.value_ceil() > allocatable.value_ceil();
    if (over) {
      out.push_back("Insufficient " + name);
    }
  }
  return out;
}

Placement Scheduler::place(const boost::json::object& pod, std::mt19937_64& random) {
  const auto requests = held_requests(pod).value_or(kube::ResourceList{});
  std::vector<std::pair<double, std::string>> fitting;
  std::map<std::string, int> reasons;
  for (const auto& [name, room] : nodes_) {
    const auto lacking = shortfalls(room, requests);
    if (lacking.empty()) {
      fitting.emplace_back(cpu_share(name), name);
    }
    for (const auto& reason : lacking) {
      ++reasons[reason];
    }
  }
  if (fitting.empty()) {
    std::vector<std::string> parts;
    for (const auto& [reason, count] : reasons) {
      parts.push_back(std::to_string(count) + " " + reason);
    }
    std::sort(parts.begin(), parts.end());  // as kube-scheduler's FitError sorts them
    std::string message = "0/" + std::to_string(nodes_.size()) + " nodes are available";
    for (std::size_t i = 0; i < parts.size(); ++i) {
      message += (i == 0 ? ": " : ", ") + parts[i];
    }
    return Placement{std::nullopt, message + "."};
  }
  // Spread: among the nodes within 10 points of the least allocated, one at random.
  std::sort(fitting.begin(), fitting.end());
  std::size_t candidates = 1;
  while (candidates < fitting.size() && fitting[candidates].first <= fitting.front().first + 0.10) {
    ++candidates;
  }
  const auto& chosen = fitting[random() % candidates].second;
  auto& room = nodes_.at(chosen);
  kube::add_into(room.held, requests);
  ++room.pods;
  return Placement{chosen, ""};
}

bool Scheduler::resize(const boost::json::object& before, const boost::json::object& after) {
  auto it = nodes_.find(node_of(before));
  if (it == nodes_.end()) {
    return true;  // not bound: nothing to book
  }
  const auto old_requests = held_requests(before).value_or(kube::ResourceList{});
  const auto new_requests = held_requests(after).value_or(kube::ResourceList{});
  NodeRoom without = it->second;
  subtract(without.held, old_requests);
  --without.pods;
  if (!shortfalls(without, new_requests).empty()) {
    return false;
  }
  kube::add_into(without.held, new_requests);
  ++without.pods;
  it->second = std::move(without);
  return true;
}

void Scheduler::release(const boost::json::object& pod) {
  auto it = nodes_.find(node_of(pod));
  if (it == nodes_.end()) {
    return;
  }
  if (auto held = held_requests(pod)) {
    subtract(it->second.held, *held);
    --it->second.pods;
  }
}

double Scheduler::cpu_share(const std::string& node) const {
  const auto& room = nodes_.at(node);
  const auto a = room.allocatable.find("cpu");
  const auto h = room.held.find("cpu");
  if (a == room.allocatable.end() || a->second.is_zero() || h == room.held.end()) {
    return 0;
  }
  return h->second.as_double() / a->second.as_double();
}

double Scheduler::cluster_cpu_share() const {
  double allocatable = 0;
  double held = 0;
  for (const auto& [name, room] : nodes_) {
    if (const auto a = room.allocatable.find("cpu"); a != room.allocatable.end()) {
      allocatable += a->second.as_double();
    }
    if (const auto h = room.held.find("cpu"); h != room.held.end()) {
      held += h->second.as_double();
    }
  }
  return allocatable > 0 ? held / allocatable : 0;
}

}  // namespace nodepack::sim
