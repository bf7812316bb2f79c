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
    : tracked_(std::move(tracked)), semantics_(semantics), on_change_(std::move(on_change)), rows_(tracked_.size()) {}

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

std::optional<ClusterPods::Digest> ClusterPods::digest(const kube::Pod& pod) {
  // The agent's rule (kube/pod_store.cpp): bound, and not Succeeded or Failed; terminating pods
  // hold their requests until they are gone.
  if (pod.node_name.empty() || !kube::pod_counts_toward_node(pod)) {
    return std::nullopt;
  }
  Digest d;
  d.key = pod_key(pod);
  d.node = node_index(pod.node_name);
  d.daemonset = pod.is_daemonset();
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
  d.requests = figures(semantics_);
  // Only a pod under an in-place resize can differ between the rules; most are kept once.
  auto other = figures(other_rule(semantics_));
  if (other != d.requests) {
    d.other = std::move(other);
  }
  return d;
}

bool ClusterPods::same_figures(const PodRecord& record, const Digest& d) const {
  const bool other_same =
      record.other == RequestRows::none ? d.other.empty() : !d.other.empty() && rows_.equals(record.other, d.other);
  return record.node == d.node && static_cast<bool>(record.daemonset) == d.daemonset &&
         rows_.equals(record.requests, d.requests) && other_same;
}

PodRecord ClusterPods::store(const Digest& d) {
  PodRecord record;
  record.node = d.node;
  record.daemonset = d.daemonset ? 1 : 0;
  record.requests = rows_.acquire(d.requests);
  record.other = d.other.empty() ? RequestRows::none : rows_.acquire(d.other);
  return record;
}

void ClusterPods::drop(const PodRecord& record) {
  rows_.release(record.requests);
  rows_.release(record.other);
}

void ClusterPods::clear(PodIndex& index) {
  index.for_each([&](const PodRecord& record) { drop(record); });
  index = PodIndex();  // its table's memory too, not only its entries
}

void ClusterPods::account(const PodRecord& record, int sign) {
  auto& totals = totals_[node_names_[record.node]];
  const auto requests = rows_.row(record.requests);
  for (std::size_t r = 0; r < tracked_.size(); ++r) {
    auto& total = totals.allocated[tracked_[r]];
    total = sign > 0 ? total + requests[r] : total - requests[r];
    if (record.daemonset) {
      auto& ds = totals.daemonset_allocated[tracked_[r]];
      ds = sign > 0 ? ds + requests[r] : ds - requests[r];
    }
  }
  totals.pod_count += sign;
  if (record.daemonset) {
    totals.daemonset_pod_count += sign;
  }
  ++totals.generation;
  if (totals.pod_count == 0) {
    totals_.erase(node_names_[record.node]);  // exact arithmetic: nothing is left behind
  }
}

void ClusterPods::rebuild_totals() {
  totals_.clear();
  pods_.for_each([&](const PodRecord& record) { account(record, +1); });
}

void ClusterPods::set_semantics(kube::ResizeSemantics semantics) {
  if (semantics == semantics_) {
    return;
  }
  semantics_ = semantics;
  bool changed = false;
  pods_.for_each([&](PodRecord& record) {
    if (record.other == RequestRows::none) {
      return;
    }
    account(record, -1);
    std::swap(record.requests, record.other);
    account(record, +1);
    changed = true;
  });
  // A list in progress was digested under the old rule as well.
  pending_.for_each([&](PodRecord& record) {
    if (record.other != RequestRows::none) {
      std::swap(record.requests, record.other);
    }
  });
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
  clear(pending_);
  pending_errors_.clear();
}

Result<void> ClusterPods::add_page(const std::vector<json::value>& items) {
  const auto errors = kube::parse_each(items, kube::parse_pod, [&](const kube::Pod& pod) {
    if (auto d = digest(pod)) {
      const auto record = store(*d);
      if (auto* old = pending_.find(d->key)) {
        drop(*old);
      }
      pending_.put(d->key, record);
    }
  });
  if (!errors.empty()) {
    pending_errors_ += (pending_errors_.empty() ? "" : "; ") + errors;
    return fail(errors);
  }
  return {};
}

Result<void> ClusterPods::finish_pages() {
  clear(pods_);
  pods_ = std::move(pending_);
  pending_ = PodIndex();
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
    if (auto* record = pods_.find(key)) {
      account(*record, -1);
      drop(*record);
      pods_.erase(key);
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
  const auto d = digest(*pod);
  auto* record = pods_.find(key);
  if (record == nullptr && !d) {
    return {};  // not bound or finished, and not counted before
  }
  if (record != nullptr) {
    if (d && same_figures(*record, *d)) {
      return {};  // a status update that changes no figure (most of them)
    }
    account(*record, -1);
    drop(*record);
    if (d) {
      *record = store(*d);
      account(*record, +1);
    } else {
      pods_.erase(key);
    }
  } else {
    const auto stored = store(*d);
    account(stored, +1);
    pods_.put(key, stored);
  }
  if (on_change_) {
    on_change_();
  }
  return {};
}

}  // namespace nodepack::aggregator
