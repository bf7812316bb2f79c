#include "kpod/fs/fs_collector.hpp"

#include "cgroup/pod_process.hpp"
#include "common/files.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <optional>
#include <span>
#include <unordered_set>

namespace nodepack::kpod {

std::vector<std::string> pod_volume_mounts(std::string_view mountinfo, std::string_view pod_uid,
                                           const std::filesystem::path& kubelet_root) {
  // "<kubelet root>/pods/<uid>/volumes/" and the same with leading components dropped, down to
  // "/pods/<uid>/volumes/".
  const std::string volumes = "/pods/" + std::string(pod_uid) + "/volumes/";
  std::vector<std::string> prefixes{volumes};
  std::string tail;
  std::vector<std::string> parts;
  for (const auto& part : kubelet_root.relative_path()) {
    if (!part.empty()) {
      parts.push_back(part.string());
    }
  }
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
    tail = "/" + *it + tail;
    prefixes.push_back(tail + volumes);
  }
  std::vector<std::string> out;
  // id parent major:minor root mount-point options [optional fields...] - fstype source super:
  // only the 4th and 5th words matter. Split by hand: a container's mountinfo is read for every
  // container each minute, and string streams cost more than the kernel's rendering of it.
  std::string_view rest = mountinfo;
  while (!rest.empty()) {
    const auto eol = rest.find('\n');
    std::string_view line = rest.substr(0, eol);
    rest = eol == std::string_view::npos ? std::string_view{} : rest.substr(eol + 1);
    std::array<std::string_view, 5> words;
    std::size_t n = 0;
    while (n < words.size()) {
      const auto start = line.find_first_not_of(' ');
      if (start == std::string_view::npos) {
        break;
      }
      line.remove_prefix(start);
      const auto end = line.find(' ');
      words[n++] = line.substr(0, end);
      line.remove_prefix(end == std::string_view::npos ? line.size() : end);
    }
    if (n < words.size()) {
      continue;
    }
    std::string r = cgroup::unescape_mountinfo_path(words[3]);
    std::string mp = cgroup::unescape_mountinfo_path(words[4]);
    bool wanted = mp == "/" ||
                  std::any_of(prefixes.begin(), prefixes.end(), [&](const std::string& p) { return r.starts_with(p); });
    if (wanted && std::find(out.begin(), out.end(), mp) == out.end()) {
      out.push_back(std::move(mp));
    }
  }
  return out;
}

FsCollector::FsCollector(HostPaths paths, std::chrono::milliseconds statvfs_timeout, const Clock* clock,
                         std::chrono::milliseconds refresh, std::chrono::milliseconds mount_list_refresh)
    : paths_(paths),
      timeout_(statvfs_timeout),
      readers_(paths.procfs, "mnt"),
      clock_(clock),
      refresh_(refresh),
      mount_list_refresh_(mount_list_refresh) {}

FsCollector::~FsCollector() = default;

Result<void> FsCollector::start() {
  auto host = cgroup::require_host_namespace(paths_.procfs, "mnt", "to tell containers apart from the node");
  if (!host) {
    return host.error();
  }
  spdlog::info("collector fs: the node's mount namespace is {}", host->from);
  host_mnt_ = host->inode;
  return {};
}

std::optional<FsCollector::LastRead> FsCollector::begin_read(const cgroup::CgroupResolver::LiveCgroup& cg,
                                                             const cgroup::PodIdentity& id,
                                                             std::chrono::steady_clock::time_point now,
                                                             const LastRead* last,
                                                             std::vector<std::string>& statvfs_paths) {
  auto reader = readers_.find(cg.id, std::span(&cg.dir, 1));
  if (!reader) {
    return std::nullopt;
  }
  LastRead read{now, {}, false};
  if (!reader->ns) {
    std::error_code ec;
    if (!std::filesystem::exists(paths_.procfs / std::to_string(reader->pid), ec)) {
      return std::nullopt;  // it exited
    }
    read.denied = true;  // kept as a read, so every scrape until the next says so
    return read;
  }
  if (*reader->ns == host_mnt_) {
    return read;  // its "/" is the node's: nothing to report, and nothing to read next time
  }
  const auto proc = paths_.procfs / std::to_string(reader->pid);
  read.mnt_ns = *reader->ns;
  if (last != nullptr && !last->denied && last->mnt_ns == read.mnt_ns && now - last->listed_at < mount_list_refresh_) {
    read.listed_at = last->listed_at;
    read.mountpoints = last->mountpoints;
  } else {
    auto text = read_small_file(proc / "mountinfo");
    if (!text) {
      return std::nullopt;  // exited meanwhile
    }
    read.listed_at = now;
    read.mountpoints = pod_volume_mounts(*text, id.pod_uid, paths_.kubelet_root);
  }
  for (const auto& mp : read.mountpoints) {
    // <procfs>/<pid>/root is the process's root directory: the path resolves in its mounts.
    statvfs_paths.push_back((proc / "root" / std::filesystem::path(mp).relative_path()).string());
  }
  return read;
}

Result<void> FsCollector::collect(const ScrapeContext& ctx, std::vector<prometheus::MetricFamily>& out) {
  if (host_mnt_ == 0) {
    return fail("not started");
  }
  auto capacity =
      metrics::Family::gauge("kpod_fs_capacity_bytes", "Size of the filesystem behind the container's mount");
  auto usage =
      metrics::Family::gauge("kpod_fs_usage_bytes", "Bytes used on the filesystem behind the container's mount");
  auto available =
      metrics::Family::gauge("kpod_fs_available_bytes",
                             "Bytes available to unprivileged users on the filesystem behind the container's mount");
  const auto now = clock_->steady_now();
  std::size_t denied = 0;
  std::unordered_set<std::uint64_t> live;
  struct Reported {
    std::uint64_t cgroup;
    cgroup::PodIdentityRef id;
  };
  std::vector<Reported> reported;
  // The containers due a read: begun first, then every mount of them all measured in one batch.
  std::vector<std::pair<std::uint64_t, LastRead>> begun;
  std::vector<std::string> statvfs_paths;
  for (const auto& cg : *ctx.resolver.live_dirs()) {
    if (cg.level != cgroup::CgroupResolver::Level::container) {
      continue;
    }
    auto id = ctx.resolve(cg.id);
    if (!id || id->container.empty()) {
      continue;  // the sandbox (pause) container, or one the pod store does not name
    }
    live.insert(cg.id);
    auto last = last_.find(cg.id);
    if (last == last_.end() || now - last->second.at >= refresh_) {
      auto read = begin_read(cg, *id, now, last == last_.end() ? nullptr : &last->second, statvfs_paths);
      if (!read) {
        last_.erase(cg.id);
        continue;
      }
      begun.emplace_back(cg.id, std::move(*read));
    }
    reported.push_back({cg.id, std::move(id)});
  }
  const auto measured = statvfs_.measure_all(statvfs_paths, timeout_);
  std::size_t next = 0;
  for (auto& [cgroup_id, read] : begun) {
    for (const auto& mp : read.mountpoints) {
      const auto& got = measured[next++];
      if (!got) {
        continue;
      }
      const double frsize = static_cast<double>(got->f_frsize);
      read.mounts.push_back(Mount{mp, static_cast<double>(got->f_blocks) * frsize,
                                  static_cast<double>(got->f_blocks - got->f_bfree) * frsize,
                                  static_cast<double>(got->f_bavail) * frsize});
    }
    last_.insert_or_assign(cgroup_id, std::move(read));
  }
  for (const auto& [cgroup_id, id] : reported) {
    const auto last = last_.find(cgroup_id);
    denied += last->second.denied ? 1 : 0;
    for (const auto& m : last->second.mounts) {
      auto labels = ctx.labels(*id, {{"mountpoint", m.mountpoint}});
      capacity.add(labels, m.capacity);
      usage.add(labels, m.usage);
      available.add(labels, m.available);
    }
  }
  readers_.retain([&](std::uint64_t key) { return live.contains(key); });
  std::erase_if(last_, [&](const auto& kv) { return !live.contains(kv.first); });
  metrics::emit(out, capacity, usage, available);
  if (denied > 0) {
    return fail("cannot read the mount namespace of " + std::to_string(denied) +
                " container process(es) (CAP_SYS_PTRACE needed): those containers are not reported");
  }
  return {};
}

}  // namespace nodepack::kpod
