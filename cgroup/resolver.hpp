#pragma once

#include "cgroup/pod_lookup.hpp"
#include "common/clock.hpp"
#include "common/host_paths.hpp"
#include "common/result.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace nodepack::cgroup {

// "Which pod and container is this cgroup": maps cgroup v2 ids (directory inodes, what
// bpf_get_current_cgroup_id() returns) to pods and containers by walking the kubepods hierarchy.
// One instance per agent, shared by every consumer (kernel collectors, accounting); call rescan()
// on pod events. With keep_removed(), cgroups that disappear stay resolvable as "removed" until
// release() so their last values can be exported; otherwise a rescan forgets them at once.
class CgroupResolver {
 public:
  CgroupResolver(std::filesystem::path v2_root, const PodLookup& pods);

  // Finds the v2 root under the host paths first (see find_cgroup2_root).
  static Result<std::unique_ptr<CgroupResolver>> create(const HostPaths& paths, const PodLookup& pods);

  // From now on removed cgroups wait for release(): a consumer exports their last values first.
  void keep_removed();

  // Walks the tree again. Returns the number of pod cgroups found (pod and container levels).
  std::size_t rescan();
  // Walks again only the directories of the pods named (what changed since the last rescan),
  // found by the names the kubelet gives them, not every pod's and no listing of them all. Their
  // cgroups are updated as by rescan(), the other pods' left as they are. A full rescan() when
  // one is due anyway (no kubepods known, one gone, a miss asked, or periodically). Returns the
  // number of cgroups found for the pods named.
  std::size_t rescan_pods(const std::unordered_set<std::string>& uids);

  // From now on resolve() walks the tree again when it meets a cgroup id the last walk did not
  // find (a container started since the last pod event), at most once per `interval`. Ids a
  // walk less than `interval` old did not find (the node's own services) are remembered and
  // trigger no more walks; pod-event rescans still pick them up if they ever become pods. Such a
  // walk also looks for kubepods directories afresh: the id may be a pod's under a kubepods the
  // last discovery did not see (made after a stale one was found, or the kubelet's new layout).
  // With the clock known, a look for kubepods that found none is repeated on rescans at most
  // every kEmptyRediscoverInterval (a host whose pods live elsewhere would otherwise list its
  // services' directories at every pod event); a miss still looks at once.
  void rescan_on_miss(const Clock& clock, std::chrono::milliseconds interval);
  // Walks resolve() triggered so far.
  std::uint64_t miss_rescans() const;
  // Rescans that looked for the kubepods directories through the whole tree's top levels (the
  // first, then only when none was found, one has gone, for a miss, or periodically; see rescan()).
  std::uint64_t discoveries() const;
  // Walks so far, whole or of some pods (rescan, rescan_pods, and those a miss triggered).
  std::uint64_t walks() const;

  PodIdentityRef resolve(std::uint64_t cgroup_id);
  bool is_removed(std::uint64_t cgroup_id) const;
  // Is any cgroup of this pod still on disk?
  bool pod_alive(std::string_view pod_uid) const;

  std::vector<std::uint64_t> removed() const;
  void release(const std::vector<std::uint64_t>& ids);
  std::vector<std::uint64_t> live_ids() const;
  std::size_t live_count() const;

  const std::filesystem::path& root() const { return root_; }
  // The kubepods cgroups (one per node normally) found by the last rescan: where cgroup
  // programs that should see every pod are attached.
  std::vector<std::filesystem::path> kubepods_dirs() const;
  // Live cgroups with their directories, for collectors that read cgroup files.
  enum class Level { pod, container, nested };
  // A cgroup a walk found.
  struct Found {
    std::string pod_uid;
    std::string container_id;
    std::filesystem::path dir;
    Level level = Level::pod;
  };
  struct LiveCgroup {
    std::uint64_t id;
    std::filesystem::path dir;
    Level level;
    std::string pod_uid;
    std::string container_id;  // runtime's id from the directory name; empty for the pod level
                               // and for cgroups that are not a container (CRI-O's conmon)
  };
  // Shared, not copied: every reader of a scrape (and the memory sampler between scrapes) gets
  // the same list until a walk changes it. Never null.
  using LiveDirs = std::shared_ptr<const std::vector<LiveCgroup>>;
  LiveDirs live_dirs() const;
  // Changes with every walk (whole or of some pods): what a consumer worked out from the live
  // cgroups and their pods stays right while it does not change. Pod events are walks, so a
  // pod's labels do not change without it changing.
  std::uint64_t live_generation() const;

 private:
  struct Entry {
    std::string pod_uid;
    std::string container_id;
    bool removed = false;
    PodIdentityRef labels;
    std::filesystem::path dir;
    Level level = Level::pod;
    // A pod event happened since `labels` was looked up: look again (pod labels change), but keep
    // the old answer when the pod has left the store (its last values are still to export).
    bool refresh = false;
  };

  static constexpr std::uint64_t kRediscoverEvery = 64;  // rescans between looks for kubepods
  // Between looks that find no kubepods, unless a miss asks (see rescan_on_miss).
  static constexpr std::chrono::seconds kEmptyRediscoverInterval{10};
  // Copies the kubepods known into `kubepods`; true when the next walk must look for them afresh.
  bool discovery_due(std::vector<std::filesystem::path>& kubepods);
  // Updates the entries from a walk's `found`: every entry, or only those of the pods in `only`.
  void apply_walk_locked(std::unordered_map<std::uint64_t, Found>& found, const std::unordered_set<std::string>* only);
  // Decides, under mu_, whether a miss on `cgroup_id` warrants a walk now.
  bool should_rescan_for(std::uint64_t cgroup_id);
  void remember_not_pod(std::uint64_t cgroup_id);

  std::filesystem::path root_;
  const PodLookup& pods_;
  mutable std::mutex mu_;
  const Clock* miss_clock_ = nullptr;
  std::chrono::milliseconds miss_interval_{0};
  std::optional<std::chrono::steady_clock::time_point> last_rescan_;
  // When the last look for kubepods found none (only with a clock).
  std::optional<std::chrono::steady_clock::time_point> found_none_at_;
  std::unordered_set<std::uint64_t> not_pods_;  // unknown even after a walk
  std::uint64_t miss_rescans_ = 0;
  std::uint64_t rescans_ = 0;
  bool rediscover_next_ = false;  // a miss asked for the next rescan to look for kubepods too
  std::uint64_t discoveries_ = 0;
  bool keep_removed_ = false;
  std::unordered_map<std::uint64_t, Entry> entries_;
  mutable LiveDirs live_dirs_;  // made from entries_ when first asked after a walk; null until then
  std::uint64_t live_generation_ = 0;
  std::vector<std::filesystem::path> kubepods_;
};

}  // namespace nodepack::cgroup
