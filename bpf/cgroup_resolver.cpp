#include "bpf/cgroup_resolver.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>
#include <unordered_set>

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

namespace nodepack::bpf {
namespace fs = std::filesystem;

namespace {

bool is_cgroup2(const fs::path& p) {
  struct statfs st {};
  return ::statfs(p.c_str(), &st) == 0 && static_cast<unsigned long>(st.f_type) == CGROUP2_SUPER_MAGIC;
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape_mountinfo(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      std::string oct = s.substr(i + 1, 3);
      if (std::all_of(oct.begin(), oct.end(), [](char c) { return c >= '0' && c <= '7'; })) {
        out.push_back(static_cast<char>(std::stoi(oct, nullptr, 8)));
        i += 3;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

bool is_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; });
}

bool is_uid_like(std::string_view s) {
  return s.size() >= 8 && std::all_of(s.begin(), s.end(), [](char c) {
           return std::isxdigit(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_';
         });
}

bool strip_suffix(std::string_view& s, std::string_view suffix) {
  if (s.ends_with(suffix)) {
    s.remove_suffix(suffix.size());
    return true;
  }
  return false;
}

bool is_kubepods_dir(std::string_view name) { return name == "kubepods" || name.ends_with("kubepods.slice"); }

bool is_qos_dir(std::string_view name) {
  return name == "burstable" || name == "besteffort" || name.ends_with("-burstable.slice") ||
         name.ends_with("-besteffort.slice");
}

std::optional<std::uint64_t> inode_of(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) {
    return std::nullopt;
  }
  return static_cast<std::uint64_t>(st.st_ino);
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

struct Found {
  std::string pod_uid;
  std::string container_id;
  fs::path dir;
  CgroupResolver::Level level = CgroupResolver::Level::pod;
};

constexpr int kMaxNestedDepth = 4;  // cgroups a container makes below its own (systemd in a pod)

void walk_below_container(const fs::path& dir, const Found& who, int depth,
                          std::unordered_map<std::uint64_t, Found>& out) {
  if (depth > kMaxNestedDepth) {
    return;
  }
  for (const auto& child : subdirs(dir)) {
    if (auto ino = inode_of(child.path())) {
      out.emplace(*ino, Found{who.pod_uid, who.container_id, child.path(), CgroupResolver::Level::nested});
      walk_below_container(child.path(), who, depth + 1, out);
    }
  }
}

void walk_pod(const fs::path& dir, const std::string& uid, std::unordered_map<std::uint64_t, Found>& out) {
  auto ino = inode_of(dir);
  if (!ino) {
    return;
  }
  out.emplace(*ino, Found{uid, "", dir, CgroupResolver::Level::pod});
  for (const auto& child : subdirs(dir)) {
    auto cid = parse_container_dir(child.path().filename().string());
    Found who{uid, cid.value_or(""), child.path(), CgroupResolver::Level::container};
    if (auto cino = inode_of(child.path())) {
      out.emplace(*cino, who);
      walk_below_container(child.path(), who, 1, out);
    }
  }
}

void walk_kubepods(const fs::path& dir, std::unordered_map<std::uint64_t, Found>& out) {
  for (const auto& child : subdirs(dir)) {
    std::string name = child.path().filename().string();
    if (auto pod = parse_pod_dir(name)) {
      walk_pod(child.path(), pod->uid, out);  // Guaranteed pods sit directly under kubepods.
    } else if (is_qos_dir(name)) {
      for (const auto& grandchild : subdirs(child.path())) {
        if (auto p = parse_pod_dir(grandchild.path().filename().string())) {
          walk_pod(grandchild.path(), p->uid, out);
        }
      }
    }
  }
}

}  // namespace

Result<fs::path> find_cgroup2_root(const HostPaths& paths) {
  // path converts to and from strings, so name the alternative explicitly.
  auto found = [](fs::path p) { return Result<fs::path>(boost::system::in_place_value, std::move(p)); };
  if (is_cgroup2(paths.cgroup)) {
    return found(paths.cgroup);
  }
  if (is_cgroup2(paths.cgroup / "unified")) {
    return found(paths.cgroup / "unified");
  }
  std::ifstream in(paths.procfs / "self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    // id parent major:minor root mount-point options [optional...] - fstype source super-options
    auto dash = line.find(" - ");
    if (dash == std::string::npos) {
      continue;
    }
    std::istringstream tail(line.substr(dash + 3));
    std::string fstype;
    tail >> fstype;
    if (fstype != "cgroup2") {
      continue;
    }
    std::istringstream head(line.substr(0, dash));
    std::string id, parent, dev, root, mount_point;
    head >> id >> parent >> dev >> root >> mount_point;
    fs::path mp = unescape_mountinfo(mount_point);
    if (is_cgroup2(mp)) {
      return found(mp);
    }
  }
  return fail("no cgroup v2 hierarchy under " + paths.cgroup.string() + " or in " +
              (paths.procfs / "self/mountinfo").string() + "; per-pod kernel metrics need cgroup v2");
}

std::optional<PodDirName> parse_pod_dir(std::string_view name) {
  std::string_view s = name;
  if (strip_suffix(s, ".slice")) {
    // systemd driver: kubepods-burstable-pod<uid with underscores>.slice, kubepods-pod<uid>.slice
    auto at = s.rfind("-pod");
    if (at == std::string_view::npos) {
      return std::nullopt;
    }
    s.remove_prefix(at + 4);
  } else if (s.starts_with("pod")) {
    s.remove_prefix(3);  // cgroupfs driver: pod<uid>
  } else {
    return std::nullopt;
  }
  if (!is_uid_like(s)) {
    return std::nullopt;
  }
  std::string uid(s);
  std::replace(uid.begin(), uid.end(), '_', '-');
  return PodDirName{uid};
}

std::optional<std::string> parse_container_dir(std::string_view name) {
  std::string_view s = name;
  strip_suffix(s, ".scope");
  if (s.starts_with("crio-conmon-")) {
    return std::nullopt;  // CRI-O's monitor process, not the container
  }
  for (std::string_view prefix : {"cri-containerd-", "crio-", "docker-", "containerd-"}) {
    if (s.starts_with(prefix)) {
      s.remove_prefix(prefix.size());
      break;
    }
  }
  if (s.size() < 12 || s.size() > 64 || !is_hex(s)) {
    return std::nullopt;
  }
  std::string id(s);
  std::transform(id.begin(), id.end(), id.begin(), [](unsigned char c) { return std::tolower(c); });
  return id;
}

CgroupResolver::CgroupResolver(fs::path v2_root, const PodLookup& pods) : root_(std::move(v2_root)), pods_(pods) {}

Result<std::unique_ptr<CgroupResolver>> CgroupResolver::create(const HostPaths& paths, const PodLookup& pods) {
  auto root = find_cgroup2_root(paths);
  if (!root) {
    return root.error();
  }
  spdlog::info("cgroup v2 root: {}", root->string());
  return std::make_unique<CgroupResolver>(*root, pods);
}

std::size_t CgroupResolver::rescan() {
  std::unordered_map<std::uint64_t, Found> found;
  std::vector<fs::path> kubepods;
  // kubepods sits at the top on most nodes, one or two levels down in nested setups
  // (e.g. kubelet.slice/kubelet-kubepods.slice).
  std::vector<fs::path> level{root_};
  for (int depth = 0; depth < 3 && !level.empty(); ++depth) {
    std::vector<fs::path> next;
    for (const auto& dir : level) {
      for (const auto& child : subdirs(dir)) {
        if (is_kubepods_dir(child.path().filename().string())) {
          kubepods.push_back(child.path());
          walk_kubepods(child.path(), found);
        } else if (depth < 2) {
          next.push_back(child.path());
        }
      }
    }
    level = std::move(next);
  }

  std::lock_guard lock(mu_);
  if (miss_clock_ != nullptr) {
    last_rescan_ = miss_clock_->steady_now();
  }
  kubepods_ = std::move(kubepods);
  for (auto& [id, e] : entries_) {
    auto it = found.find(id);
    if (it == found.end() || it->second.pod_uid != e.pod_uid || it->second.container_id != e.container_id) {
      e.removed = true;  // inode numbers can be reused; a different owner is a new cgroup
    }
  }
  for (auto& [id, f] : found) {
    auto it = entries_.find(id);
    if (it == entries_.end()) {
      entries_.emplace(id, Entry{f.pod_uid, f.container_id, false, std::nullopt, f.dir, f.level});
    } else if (it->second.removed && (it->second.pod_uid != f.pod_uid || it->second.container_id != f.container_id)) {
      // Reused inode: the old cgroup's last values are lost with its entry; rare and harmless.
      it->second = Entry{f.pod_uid, f.container_id, false, std::nullopt, f.dir, f.level};
    } else {
      it->second.dir = f.dir;
      it->second.level = f.level;
    }
  }
  return found.size();
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
  return true;
}

std::optional<PodIdentity> CgroupResolver::resolve(std::uint64_t cgroup_id) {
  std::string uid, cid;
  {
    std::unique_lock lock(mu_);
    auto it = entries_.find(cgroup_id);
    if (it == entries_.end()) {
      if (!should_rescan_for(cgroup_id)) {
        return std::nullopt;
      }
      lock.unlock();
      rescan();
      lock.lock();
      it = entries_.find(cgroup_id);
      if (it == entries_.end()) {
        remember_not_pod(cgroup_id);
        return std::nullopt;
      }
    }
    if (it->second.labels) {
      return it->second.labels;
    }
    uid = it->second.pod_uid;
    cid = it->second.container_id;
  }
  // Outside the lock: the pod store has its own and may call rescan() from its event handler.
  auto pod = pods_.by_uid(uid);
  if (!pod) {
    return std::nullopt;
  }
  PodIdentity id{pod->namespace_name, pod->name, "", uid};
  bool final_answer = cid.empty();
  if (!cid.empty()) {
    if (auto c = pod->containers.find(cid); c != pod->containers.end()) {
      id.container = c->second;
      final_answer = true;
    }
  }
  if (final_answer) {  // a container the store does not know yet may be named on a later scrape
    std::lock_guard lock(mu_);
    if (auto it = entries_.find(cgroup_id); it != entries_.end() && it->second.pod_uid == uid) {
      it->second.labels = id;
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

std::vector<CgroupResolver::LiveCgroup> CgroupResolver::live_dirs() const {
  std::lock_guard lock(mu_);
  std::vector<LiveCgroup> out;
  for (const auto& [id, e] : entries_) {
    if (!e.removed) {
      out.push_back({id, e.dir, e.level, e.pod_uid, e.container_id});
    }
  }
  return out;
}

std::size_t CgroupResolver::live_count() const {
  std::lock_guard lock(mu_);
  return static_cast<std::size_t>(
      std::count_if(entries_.begin(), entries_.end(), [](const auto& kv) { return !kv.second.removed; }));
}

}  // namespace nodepack::bpf
