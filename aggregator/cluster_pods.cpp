#include "aggregator/cluster_pods.hpp"

#include "kube/json_fields.hpp"
#include "kube/parse_each.hpp"

namespace nodepack::aggregator {
namespace {

namespace json = boost::json;

kube::ResizeSemantics other_rule(kube::ResizeSemantics s) {
  return s == kube::ResizeSemantics::per_container ? kube::ResizeSemantics::max_of_sums
                                                   : kube::ResizeSemantics::per_container;
}

std::string pod_key(const kube::Pod& pod) { return pod.uid.empty() ? pod.key() : pod.uid; }

}  // namespace

ClusterPods::ClusterPods(std::vector<std::string> tracked, kube::ResizeSemantics semantics,
                         std::function<void()> on_change)
    : tracked_(std::move(tracked)), semantics_(semantics), on_change_(std::move(on_change)) {}

const kube::NodeTotals* ClusterPods::node(const std::string& name) const {
  const auto it = totals_.find(name);
  return it == totals_.end() ? nullptr : &it->second;
}

std::uint32_t ClusterPods::node_index(const std::string& name) {
  const auto [it, added] = node_ids_.try_emplace(name, static_cast<std::uint32_t>(node_names_.size()));
  if (added) {
    node_names_.push_back(name);
  }
  return it->second;
}

std::optional<std::pair<std::string, ClusterPods::Entry>> ClusterPods::digest(const kube::Pod& pod) {
  // The agent's rule (kube/pod_store.cpp): bound, and not Succeeded or Failed; terminating pods
  // hold their requests until they are gone.
  if (pod.node_name.empty() || !kube::pod_counts_toward_node(pod)) {
    return std::nullopt;
  }
  Entry entry;
  entry.node = node_index(pod.node_name);
  entry.daemonset = pod.is_daemonset();
  const auto figures = [&](kube::ResizeSemantics rule) {
    const auto requests = kube::compute_pod_requests(pod, rule).requests;
    std::vector<kube::Quantity> out(tracked_.size());
    for (std::size_t r = 0; r < tracked_.size(); ++r) {
      if (tracked_[r] == "pods") {
        out[r] = kube::Quantity::from_units(1);
      } else if (const auto it = requests.find(tracked_[r]); it != requests.end()) {
        out[r] = it->second;
      }
    }
    return out;
  };
  entry.requests = figures(semantics_);
  // Only a pod under an in-place resize can differ between the rules; most are kept once.
  auto other = figures(other_rule(semantics_));
  if (other != entry.requests) {
    entry.other = std::move(other);
  }
  return std::make_pair(pod_key(pod), std::move(entry));
}

void ClusterPods::account(const Entry& entry, int sign) {
  auto& totals = totals_[node_names_[entry.node]];
  for (std::size_t r = 0; r < tracked_.size(); ++r) {
    auto& total = totals.allocated[tracked_[r]];
    total = sign > 0 ? total + entry.requests[r] : total - entry.requests[r];
    if (entry.daemonset) {
      auto& ds = totals.daemonset_allocated[tracked_[r]];
      ds = sign > 0 ? ds + entry.requests[r] : ds - entry.requests[r];
    }
  }
  totals.pod_count += sign;
  if (entry.daemonset) {
    totals.daemonset_pod_count += sign;
  }
  ++totals.generation;
  if (totals.pod_count == 0) {
    totals_.erase(node_names_[entry.node]);  // exact arithmetic: nothing is left behind
  }
}

void ClusterPods::rebuild_totals() {
  totals_.clear();
  for (const auto& [uid, entry] : pods_) {
    account(entry, +1);
  }
}

void ClusterPods::set_semantics(kube::ResizeSemantics semantics) {
  if (semantics == semantics_) {
    return;
  }
  semantics_ = semantics;
  bool changed = false;
  for (auto& [uid, entry] : pods_) {
    if (entry.other.empty()) {
      continue;
    }
    account(entry, -1);
    std::swap(entry.requests, entry.other);
    account(entry, +1);
    changed = true;
  }
  if (changed && on_change_) {
    on_change_();
  }
}

Result<void> ClusterPods::replace(const std::vector<json::value>& items) {
  begin_pages();
  auto added = add_page(items);
  auto finished = finish_pages();
  return added ? finished : added;
}

void ClusterPods::begin_pages() {
  pending_.clear();
  pending_errors_.clear();
}

Result<void> ClusterPods::add_page(const std::vector<json::value>& items) {
  const auto errors = kube::parse_each(items, kube::parse_pod, [&](const kube::Pod& pod) {
    if (auto d = digest(pod)) {
      pending_.insert_or_assign(std::move(d->first), std::move(d->second));
    }
  });
  if (!errors.empty()) {
    pending_errors_ += (pending_errors_.empty() ? "" : "; ") + errors;
    return fail(errors);
  }
  return {};
}

Result<void> ClusterPods::finish_pages() {
  pods_ = std::move(pending_);
  pending_ = PodMap();
  rebuild_totals();
  if (on_change_) {
    on_change_();
  }
  return {};
}

Result<void> ClusterPods::apply(kube::WatchEventType type, const json::value& object) {
  if (type == kube::WatchEventType::deleted) {
    // A deleted pod needs only its key; do not fail on a tombstone that lacks the rest.
    const auto* o = object.if_object();
    const auto* metadata = o != nullptr ? kube::object_field(*o, "metadata") : nullptr;
    if (metadata == nullptr) {
      return fail("deleted pod without metadata");
    }
    std::string key = kube::string_field(*metadata, "uid");
    if (key.empty()) {
      key = kube::string_field(*metadata, "namespace") + "/" + kube::string_field(*metadata, "name");
    }
    if (auto it = pods_.find(key); it != pods_.end()) {
      account(it->second, -1);
      pods_.erase(it);
      if (on_change_) {
        on_change_();
      }
    }
    return {};
  }
  auto pod = kube::parse_pod(object);
  if (!pod) {
    return pod.error();
  }
  const std::string key = pod_key(*pod);
  auto d = digest(*pod);
  const auto it = pods_.find(key);
  if (it == pods_.end() && !d) {
    return {};  // not bound or finished, and not counted before
  }
  if (it != pods_.end()) {
    if (d && d->second.node == it->second.node && d->second.daemonset == it->second.daemonset &&
        d->second.requests == it->second.requests && d->second.other == it->second.other) {
      return {};  // a status update that changes no figure (most of them)
    }
    account(it->second, -1);
    if (d) {
      it->second = std::move(d->second);
      account(it->second, +1);
    } else {
      pods_.erase(it);
    }
  } else {
    account(d->second, +1);
    pods_.emplace(key, std::move(d->second));
  }
  if (on_change_) {
    on_change_();
  }
  return {};
}

}  // namespace nodepack::aggregator
