#pragma once

// The pods bound to one node, keyed by UID, with the node's totals kept up to date on every
// change: a scrape reads the totals, it never sums pods. Exact arithmetic (Quantity) means adding
// and later subtracting a pod's requests leaves no residue, so the totals cannot drift.

#include "kube/pod.hpp"
#include "kube/pod_requests.hpp"
#include "kube/resource_list.hpp"

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace nodepack::kube {

struct StoredPod {
  Pod pod;
  PodRequests requests;
  bool counted = false;  // bound and not Succeeded/Failed
};

struct NodeTotals {
  ResourceList allocated;            // requests of counted pods
  ResourceList daemonset_allocated;  // requests of counted DaemonSet pods
  std::int64_t pod_count = 0;        // counted pods
  std::int64_t daemonset_pod_count = 0;
  std::uint64_t generation = 0;  // bumped on every change
};

class PodStore {
 public:
  explicit PodStore(ResizeSemantics semantics = ResizeSemantics::per_container);

  void upsert(Pod pod);
  void remove(const std::string& uid);
  // Replaces everything (after a relist); pods missing from `pods` are removed.
  void replace(std::vector<Pod> pods);

  // Rebuilds the totals from the stored pods; false when they differed from the kept ones.
  bool recount();
  // Recomputes every pod's requests under another in-place resize rule (the API server's version
  // decided it, see kube/resize_tracker.hpp) and the totals with them.
  void set_semantics(ResizeSemantics semantics);
  ResizeSemantics semantics() const;

  NodeTotals totals() const;
  std::optional<StoredPod> find(const std::string& uid) const;
  std::vector<StoredPod> pods() const;
  // Calls f(const StoredPod&) for each pod under the store's lock, without copying them: what a
  // scrape reads every time. `f` must not call back into the store.
  template <class F>
  void for_each(F&& f) const {
    std::lock_guard lock(mutex_);
    for (const auto& [uid, entry] : pods_) {
      f(entry);
    }
  }
  // Calls f(const StoredPod&) for the pod `uid` under the store's lock, without copying it (a
  // pod with its containers, statuses and labels is large); false, and no call, when it is not
  // stored. `f` must not call back into the store.
  template <class F>
  bool with(const std::string& uid, F&& f) const {
    std::lock_guard lock(mutex_);
    auto it = pods_.find(uid);
    if (it == pods_.end()) {
      return false;
    }
    f(it->second);
    return true;
  }
  std::size_t size() const;

 private:
  void add_locked(const StoredPod& entry, int sign);
  void insert_locked(Pod pod);

  ResizeSemantics semantics_;
  mutable std::mutex mutex_;
  std::map<std::string, StoredPod> pods_;
  NodeTotals totals_;
};

}  // namespace nodepack::kube
