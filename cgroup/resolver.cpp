#include "cgroup/resolver.hpp"

#include "cgroup/kubelet_names.hpp"
#include "cgroup/v2_root.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <utility>

namespace nodepack::cgroup {
namespace fs = std::filesystem;

namespace {

// A directory's inode (its cgroup id) and whether it may have subdirectories: a directory's link
// count is 2 plus its subdirectories on cgroupfs (kernfs), ext4 and tmpfs, so exactly 2 means
// none and its listing (thirty-odd control files for a cgroup) is skipped; any other count
// (btrfs says 1 for every directory) is listed.
struct DirStat {
  std::uint64_t inode = 0;
  bool may_have_subdirs = true;
};

std::optional<DirStat> stat_dir(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) {
    return std::nullopt;
  }
  return DirStat{static_cast<std::uint64_t>(st.st_ino), st.st_nlink != 2};
}

std::vector<fs::directory_entry> subdirs(const fs::path& dir) {
  std::vector<fs::directory_entry> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code ec2;
    if (it->is_directory(ec2) && !it->is_symlink(ec2)) {
      out.push_back(*it);
    }
  }
  return out;  // a dir that vanished mid-walk just yields nothing
}

using Found = CgroupResolver::Found;

constexpr int kMaxNestedDepth = 4;  // cgroups a container makes below its own (systemd in a pod)

void walk_below_container(const fs::path& dir, const Found& who, int depth,
                          std::unordered_map<std::uint64_t, Found>& out) {
  if (depth > kMaxNestedDepth) {
    return;
  }
  for (const auto& child : subdirs(dir)) {
    if (auto st = stat_dir(child.path())) {
      out.emplace(st->inode, Found{who.pod_uid, who.container_id, child.path(), CgroupResolver::Level::nested});
      if (st->may_have_subdirs) {
        walk_below_container(child.path(), who, depth + 1, out);
      }
    }
  }
}

void walk_pod(const fs::path& dir, const std::string& uid, std::unordered_map<std::uint64_t, Found>& out) {
  auto st = stat_dir(dir);
  if (!st) {
    return;
  }
  out.emplace(st->inode, Found{uid, "", dir, CgroupResolver::Level::pod});
  if (!st->may_have_subdirs) {
    return;  // no container yet
  }
  for (const auto& child : subdirs(dir)) {
    auto cid = parse_container_dir(child.path().filename().string());
    Found who{uid, cid.value_or(""), child.path(), CgroupResolver::Level::container};
    if (auto cst = stat_dir(child.path())) {
      out.emplace(cst->inode, who);
      if (cst->may_have_subdirs) {
        walk_below_container(child.path(), who, 1, out);
      }
    }
  }
}

// The pods under one kubepods directory: its listing and its QoS classes', then each pod's.
void walk_kubepods(const fs::path& dir, std::unordered_map<std::uint64_t, Found>& out) {
  for (const auto& child : subdirs(dir)) {
    std::string name = child.path().filename().string();
    if (auto pod = parse_pod_dir(name)) {
      walk_pod(child.path(), *pod, out);  // Guaranteed pods sit directly under kubepods.
    } else if (is_qos_dir(name)) {
      for (const auto& grandchild : subdirs(child.path())) {
        if (auto p = parse_pod_dir(grandchild.path().filename().string())) {
          walk_pod(grandchild.path(), *p, out);
        }
      }
    }
  }
}

// The named pods under one kubepods directory, found by name (a stat per QoS class), walked.
void walk_named_pods(const fs::path& kubepods, const std::unordered_set<std::string>& uids,
                     std::unordered_map<std::uint64_t, Found>& out) {
  for (const auto& uid : uids) {
    for (const auto& dir : pod_dir_candidates(kubepods, uid)) {
      walk_pod(dir, uid, out);  // nothing when it is not there
    }
  }
}

// kubepods sits at the top on most nodes, one or two levels down in nested setups (e.g.
// kubelet.slice/kubelet-kubepods.slice): found by listing the top three levels of the tree.
std::vector<fs::path> find_kubepods(const fs::path& root) {
  std::vector<fs::path> kubepods;
  std::vector<fs::path> level{root};
  for (int depth = 0; depth < 3 && !level.empty(); ++depth) {
    std::vector<fs::path> next;
    for (const auto& dir : level) {
      for (const auto& child : subdirs(dir)) {
        if (is_kubepods_dir(child.path().filename().string())) {
          kubepods.push_back(child.path());
        } else if (depth < 2) {
          next.push_back(child.path());
        }
      }
    }
    level = std::move(next);
  }
  return kubepods;
}

}  // namespace

CgroupResolver::CgroupResolver(fs::path v2_root, const PodLookup& pods) : root_(std::move(v2_root)), pods_(pods) {}

Result<std::unique_ptr<CgroupResolver>> CgroupResolver::create(const HostPaths& paths, const PodLookup& pods) {
  auto root = find_cgroup2_root(paths);
  if (!root) {
    return root.error();
  }
  spdlog::info("cgroup v2 root: {}", root->string());
  return std::make_unique<CgroupResolver>(*root, pods);
}

bool CgroupResolver::discovery_due(std::vector<fs::path>& kubepods) {
  // Finding kubepods lists every system service's directory (a hundred or more on a real node)
  // and it does not move while the kubelet runs: later rescans walk only the kubepods found, and
  // look afresh when none was found (at most every kEmptyRediscoverInterval when there is a
  // clock), one has gone, a miss asked for it (should_rescan_for), or every kRediscoverEvery
  // rescans.
  bool due = false;
  {
    std::lock_guard lock(mu_);
    kubepods = kubepods_;
    const bool none_lately = found_none_at_ && miss_clock_ != nullptr &&
                             miss_clock_->steady_now() - *found_none_at_ < kEmptyRediscoverInterval;
    due = rediscover_next_ || (kubepods.empty() && !none_lately) || (rescans_ + 1) % kRediscoverEvery == 0;
  }
  return due || std::any_of(kubepods.begin(), kubepods.end(), [](const fs::path& k) {
           std::error_code ec;
           return !fs::is_directory(k, ec);
         });
}

std::size_t CgroupResolver::rescan() {
  std::vector<fs::path> kubepods;
  const bool rediscover = discovery_due(kubepods);
  if (rediscover) {
    kubepods = find_kubepods(root_);
  }
  std::unordered_map<std::uint64_t, Found> found;
  for (const auto& k : kubepods) {
    walk_kubepods(k, found);
  }

  std::lock_guard lock(mu_);
  ++rescans_;
  rediscover_next_ = rediscover_next_ && !rediscover;
  if (miss_clock_ != nullptr) {
    last_rescan_ = miss_clock_->steady_now();
  }
  discoveries_ += rediscover ? 1 : 0;
  if (rediscover && miss_clock_ != nullptr) {
    found_none_at_ = kubepods.empty() ? std::optional(miss_clock_->steady_now()) : std::nullopt;
  }
  kubepods_ = std::move(kubepods);
  apply_walk_locked(found, nullptr);
  return found.size();
}

std::size_t CgroupResolver::rescan_pods(const std::unordered_set<std::string>& uids) {
  std::vector<fs::path> kubepods;
  if (discovery_due(kubepods)) {
    return rescan();
  }
  std::unordered_map<std::uint64_t, Found> found;
  for (const auto& k : kubepods) {
    walk_named_pods(k, uids, found);
  }
  std::lock_guard lock(mu_);
  ++rescans_;
  // last_rescan_ stays: this walk did not look at every pod, so it says nothing of a miss.
  apply_walk_locked(found, &uids);
  return found.size();
}

void CgroupResolver::apply_walk_locked(std::unordered_map<std::uint64_t, Found>& found,
                                       const std::unordered_set<std::string>* only) {
  live_dirs_.reset();  // readers holding the last list keep it; the next asks for a new one
  ++live_generation_;
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (only != nullptr && !only->contains(it->second.pod_uid)) {
      ++it;  // a pod this walk did not look at
      continue;
    }
    auto f = found.find(it->first);
    if (f == found.end() || f->second.pod_uid != it->second.pod_uid ||
        f->second.container_id != it->second.container_id) {
      if (!keep_removed_) {
        it = entries_.erase(it);  // nobody exports a removed cgroup's last values
        continue;
      }
      it->second.removed = true;  // inode numbers can be reused; a different owner is a new cgroup
    }
    ++it;
  }
  for (auto& [id, f] : found) {
    auto it = entries_.find(id);
    if (it == entries_.end()) {
      entries_.emplace(id, Entry{f.pod_uid, f.container_id, false, nullptr, f.dir, f.level});
    } else if (it->second.removed && (it->second.pod_uid != f.pod_uid || it->second.container_id != f.container_id)) {
      // Reused inode: the old cgroup's last values are lost with its entry; rare and harmless.
      it->second = Entry{f.pod_uid, f.container_id, false, nullptr, f.dir, f.level};
    } else {
      it->second.dir = f.dir;
      it->second.level = f.level;
      it->second.refresh = it->second.labels != nullptr;
    }
  }
}

void CgroupResolver::keep_removed() {
  std::lock_guard lock(mu_);
  keep_removed_ = true;
}

void CgroupResolver::rescan_on_miss(const Clock& clock, std::chrono::milliseconds interval) {
  std::lock_guard lock(mu_);
  miss_clock_ = &clock;
  miss_interval_ = interval;
}

std::uint64_t CgroupResolver::miss_rescans() const {
  std::lock_guard lock(mu_);
  return miss_rescans_;
}

std::uint64_t CgroupResolver::walks() const {
  std::lock_guard lock(mu_);
  return rescans_;
}

std::uint64_t CgroupResolver::discoveries() const {
  std::lock_guard lock(mu_);
  return discoveries_;
}

void CgroupResolver::remember_not_pod(std::uint64_t cgroup_id) {
  constexpr std::size_t kMaxRemembered = 65536;  // bounded: forget all rather than grow
  if (not_pods_.size() >= kMaxRemembered) {
    not_pods_.clear();
  }
  not_pods_.insert(cgroup_id);
}

bool CgroupResolver::should_rescan_for(std::uint64_t cgroup_id) {
  if (miss_clock_ == nullptr || not_pods_.contains(cgroup_id)) {
    return false;
  }
  const auto now = miss_clock_->steady_now();
  if (last_rescan_ && now - *last_rescan_ < miss_interval_) {
    // A walk within the interval did not find it: not a pod cgroup (a container created in
    // the few milliseconds since is attributed by the rescan its pod event triggers).
    remember_not_pod(cgroup_id);
    return false;
  }
  last_rescan_ = now;  // claimed here, so concurrent misses do not all walk
  ++miss_rescans_;
  rediscover_next_ = true;
  return true;
}

PodIdentityRef CgroupResolver::resolve(std::uint64_t cgroup_id) {
  std::string uid, cid;
  PodIdentityRef cached;
  {
    std::unique_lock lock(mu_);
    auto it = entries_.find(cgroup_id);
    if (it == entries_.end()) {
      if (!should_rescan_for(cgroup_id)) {
        return nullptr;
      }
      lock.unlock();
      rescan();
      lock.lock();
      it = entries_.find(cgroup_id);
      if (it == entries_.end()) {
        remember_not_pod(cgroup_id);
        return nullptr;
      }
    }
    if (it->second.labels && !it->second.refresh) {
      return it->second.labels;
    }
    cached = it->second.labels;
    uid = it->second.pod_uid;
    cid = it->second.container_id;
  }
  // Outside the lock: the pod store has its own and may call rescan() from its event handler.
  auto pod = pods_.by_uid(uid);
  if (!pod) {
    return cached;  // gone from the store: the last answer still names its final values
  }
  auto id = std::make_shared<PodIdentity>(
      PodIdentity{pod->namespace_name, pod->name, "", uid, std::move(pod->labels), std::move(pod->workload)});
  bool final_answer = cid.empty();
  if (!cid.empty()) {
    if (auto c = pod->containers.find(cid); c != pod->containers.end()) {
      id->container = c->second;
      final_answer = true;
    }
  }
  if (final_answer) {  // a container the store does not know yet may be named on a later scrape
    std::lock_guard lock(mu_);
    if (auto it = entries_.find(cgroup_id); it != entries_.end() && it->second.pod_uid == uid) {
      it->second.labels = id;
      it->second.refresh = false;
    }
  }
  return id;
}

bool CgroupResolver::is_removed(std::uint64_t cgroup_id) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(cgroup_id);
  return it != entries_.end() && it->second.removed;
}

bool CgroupResolver::pod_alive(std::string_view pod_uid) const {
  std::lock_guard lock(mu_);
  return std::any_of(entries_.begin(), entries_.end(),
                     [&](const auto& kv) { return !kv.second.removed && kv.second.pod_uid == pod_uid; });
}

std::vector<std::uint64_t> CgroupResolver::removed() const {
  std::lock_guard lock(mu_);
  std::vector<std::uint64_t> out;
  for (const auto& [id, e] : entries_) {
    if (e.removed) {
      out.push_back(id);
    }
  }
  return out;
}

void CgroupResolver::release(const std::vector<std::uint64_t>& ids) {
  std::lock_guard lock(mu_);
  for (auto id : ids) {
    if (auto it = entries_.find(id); it != entries_.end() && it->second.removed) {
      entries_.erase(it);
    }
  }
}

std::vector<std::uint64_t> CgroupResolver::live_ids() const {
  std::lock_guard lock(mu_);
  std::vector<std::uint64_t> out;
  for (const auto& [id, e] : entries_) {
    if (!e.removed) {
      out.push_back(id);
    }
  }
  return out;
}

std::vector<fs::path> CgroupResolver::kubepods_dirs() const {
  std::lock_guard lock(mu_);
  return kubepods_;
}

CgroupResolver::LiveDirs CgroupResolver::live_dirs() const {
  std::lock_guard lock(mu_);
  if (live_dirs_ == nullptr) {
    auto out = std::make_shared<std::vector<LiveCgroup>>();
    for (const auto& [id, e] : entries_) {
      if (!e.removed) {
        out->push_back({id, e.dir, e.level, e.pod_uid, e.container_id});
      }
    }
    live_dirs_ = std::move(out);
  }
  return live_dirs_;
}

std::uint64_t CgroupResolver::live_generation() const {
  std::lock_guard lock(mu_);
  return live_generation_;
}

std::size_t CgroupResolver::live_count() const {
  std::lock_guard lock(mu_);
  return static_cast<std::size_t>(
      std::count_if(entries_.begin(), entries_.end(), [](const auto& kv) { return !kv.second.removed; }));
}

}  // namespace nodepack::cgroup
