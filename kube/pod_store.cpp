#include "kube/pod_store.hpp"

namespace nodepack::kube {

PodStore::PodStore(ResizeSemantics semantics) : semantics_(semantics) {}

void PodStore::add_locked(const StoredPod& entry, int sign) {
  if (!entry.counted) {
    return;
  }
  const bool daemonset = entry.pod.is_daemonset();
  for (const auto& [name, quantity] : entry.requests.requests) {
    auto& total = totals_.allocated[name];
    total = sign > 0 ? total + quantity : total - quantity;
    if (daemonset) {
      auto& ds = totals_.daemonset_allocated[name];
      ds = sign > 0 ? ds + quantity : ds - quantity;
    }
  }
  totals_.pod_count += sign;
  if (daemonset) {
    totals_.daemonset_pod_count += sign;
  }
}

void PodStore::insert_locked(Pod pod) {
  StoredPod entry;
  entry.counted = pod_counts_toward_node(pod);
  entry.requests = compute_pod_requests(pod, semantics_);
  entry.pod = std::move(pod);
  const std::string uid = entry.pod.uid;
  if (auto it = pods_.find(uid); it != pods_.end()) {
    add_locked(it->second, -1);
    it->second = std::move(entry);
    add_locked(it->second, +1);
  } else {
    add_locked(entry, +1);
    pods_.emplace(uid, std::move(entry));
  }
}

void PodStore::upsert(Pod pod) {
  std::lock_guard lock(mutex_);
  insert_locked(std::move(pod));
  ++totals_.generation;
}

void PodStore::remove(const std::string& uid) {
  std::lock_guard lock(mutex_);
  if (auto it = pods_.find(uid); it != pods_.end()) {
    add_locked(it->second, -1);
    pods_.erase(it);
    ++totals_.generation;
  }
}

void PodStore::replace(std::vector<Pod> pods) {
  std::lock_guard lock(mutex_);
  const auto generation = totals_.generation;
  pods_.clear();
  totals_ = NodeTotals{};
  totals_.generation = generation + 1;
  for (auto& pod : pods) {
    insert_locked(std::move(pod));
  }
}

bool PodStore::recount() {
  std::lock_guard lock(mutex_);
  const NodeTotals kept = totals_;
  totals_ = NodeTotals{};
  totals_.generation = kept.generation;
  for (const auto& [uid, entry] : pods_) {
    add_locked(entry, +1);
  }
  // Zero entries may remain in the kept totals after pods left; they are not a difference.
  const auto same = [](const ResourceList& a, const ResourceList& b) {
    for (const auto* list : {&a, &b}) {
      const auto* other = list == &a ? &b : &a;
      for (const auto& [name, quantity] : *list) {
        const auto it = other->find(name);
        if ((it == other->end() && !quantity.is_zero()) || (it != other->end() && !(it->second == quantity))) {
          return false;
        }
      }
    }
    return true;
  };
  const bool consistent =
      same(kept.allocated, totals_.allocated) && same(kept.daemonset_allocated, totals_.daemonset_allocated) &&
      kept.pod_count == totals_.pod_count && kept.daemonset_pod_count == totals_.daemonset_pod_count;
  if (!consistent) {
    ++totals_.generation;
  }
  return consistent;
}

void PodStore::set_semantics(ResizeSemantics semantics) {
  std::lock_guard lock(mutex_);
  if (semantics == semantics_) {
    return;
  }
  semantics_ = semantics;
  const auto generation = totals_.generation;
  totals_ = NodeTotals{};
  totals_.generation = generation + 1;
  for (auto& [uid, entry] : pods_) {
    entry.requests = compute_pod_requests(entry.pod, semantics_);
    add_locked(entry, +1);
  }
}

ResizeSemantics PodStore::semantics() const {
  std::lock_guard lock(mutex_);
  return semantics_;
}

NodeTotals PodStore::totals() const {
  std::lock_guard lock(mutex_);
  return totals_;
}

std::optional<StoredPod> PodStore::find(const std::string& uid) const {
  std::lock_guard lock(mutex_);
  if (auto it = pods_.find(uid); it != pods_.end()) {
    return it->second;
  }
  return std::nullopt;
}

std::vector<StoredPod> PodStore::pods() const {
  std::lock_guard lock(mutex_);
  std::vector<StoredPod> out;
  out.reserve(pods_.size());
  for (const auto& [uid, entry] : pods_) {
    out.push_back(entry);
  }
  return out;
}

std::size_t PodStore::size() const {
  std::lock_guard lock(mutex_);
  return pods_.size();
}

}  // namespace nodepack::kube
