#include "kpod/fs/fs_collector.hpp"

#include "cgroup/pod_process.hpp"
#include "common/files.hpp"

#include <spdlog/spdlog.h>

#include <sys/statvfs.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

namespace nodepack::kpod {

using cgroup::first_live_process;
using cgroup::namespace_inode;

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
  std::istringstream in{std::string(mountinfo)};
  std::string line;
  while (std::getline(in, line)) {
    // id parent major:minor root mount-point options [optional fields...] - fstype source super
    std::istringstream words(line);
    std::string id, parent, dev, root, mount_point;
    if (!(words >> id >> parent >> dev >> root >> mount_point)) {
      continue;
    }
    std::string r = cgroup::unescape_mountinfo_path(root);
    std::string mp = cgroup::unescape_mountinfo_path(mount_point);
    bool wanted = mp == "/" ||
                  std::any_of(prefixes.begin(), prefixes.end(), [&](const std::string& p) { return r.starts_with(p); });
    if (wanted && std::find(out.begin(), out.end(), mp) == out.end()) {
      out.push_back(std::move(mp));
    }
  }
  return out;
}

// Paths whose statvfs was given up and has not returned yet.
struct FsCollector::Stuck {
  std::mutex mu;
  std::set<std::string> paths;
};

namespace {

// statvfs on a worker thread; nullopt on failure, on timeout, or while an earlier call on the
// same path is still hanging.
std::optional<struct statvfs> statvfs_within(const std::string& path, std::chrono::milliseconds timeout,
                                             const std::shared_ptr<FsCollector::Stuck>& stuck) {
  {
    std::lock_guard lock(stuck->mu);
    if (stuck->paths.contains(path)) {
      return std::nullopt;
    }
  }
  struct Call {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    bool ok = false;
    struct statvfs st {};
  };
  auto call = std::make_shared<Call>();
  std::thread([call, path, stuck] {
    struct statvfs st {};
    const bool ok = ::statvfs(path.c_str(), &st) == 0;
    {
      std::lock_guard lock(call->mu);
      call->done = true;
      call->ok = ok;
      call->st = st;
    }
    call->cv.notify_one();
    std::lock_guard lock(stuck->mu);
    stuck->paths.erase(path);  // returned at last: try it again next time
  }).detach();
  std::unique_lock lock(call->mu);
  if (!call->cv.wait_for(lock, timeout, [&] { return call->done; })) {
    std::lock_guard stuck_lock(stuck->mu);
    stuck->paths.insert(path);
    spdlog::warn("collector fs: statvfs({}) did not return within {} ms; skipping that mount until it does", path,
                 timeout.count());
    return std::nullopt;
  }
  if (!call->ok) {
    return std::nullopt;
  }
  return call->st;
}

}  // namespace

FsCollector::FsCollector(HostPaths paths, std::chrono::milliseconds statvfs_timeout)
    : paths_(std::move(paths)), timeout_(statvfs_timeout), stuck_(std::make_shared<Stuck>()) {}

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

Result<void> FsCollector::collect(const ScrapeContext& ctx, std::vector<prometheus::MetricFamily>& out) {
  if (host_mnt_ == 0) {
    return fail("not started");
  }
  const std::uint64_t host_mnt = host_mnt_;
  auto capacity =
      metrics::Family::gauge("kpod_fs_capacity_bytes", "Size of the filesystem behind the container's mount");
  auto usage =
      metrics::Family::gauge("kpod_fs_usage_bytes", "Bytes used on the filesystem behind the container's mount");
  auto available =
      metrics::Family::gauge("kpod_fs_available_bytes",
                             "Bytes available to unprivileged users on the filesystem behind the container's mount");
  std::size_t denied = 0;
  for (const auto& cg : ctx.resolver.live_dirs()) {
    if (cg.level != cgroup::CgroupResolver::Level::container) {
      continue;
    }
    auto id = ctx.resolve(cg.id);
    if (!id || id->container.empty()) {
      continue;  // the sandbox (pause) container, or one the pod store does not name
    }
    auto pid = first_live_process(cg.dir, paths_.procfs);
    if (!pid) {
      continue;
    }
    auto mnt = namespace_inode(paths_.procfs, *pid, "mnt");
    if (!mnt) {
      std::error_code ec;
      denied += std::filesystem::exists(paths_.procfs / std::to_string(*pid), ec) ? 1 : 0;  // else it exited
      continue;
    }
    if (*mnt == host_mnt) {
      continue;
    }
    const auto proc = paths_.procfs / std::to_string(*pid);
    auto text = read_small_file(proc / "mountinfo");
    if (!text) {
      continue;  // exited meanwhile
    }
    for (const auto& mp : pod_volume_mounts(*text, id->pod_uid, paths_.kubelet_root)) {
      // <procfs>/<pid>/root is the process's root directory: the path resolves in its mounts.
      const auto path = proc / "root" / std::filesystem::path(mp).relative_path();
      auto got = statvfs_within(path.string(), timeout_, stuck_);
      if (!got) {
        continue;
      }
      const struct statvfs& st = *got;
      const double frsize = static_cast<double>(st.f_frsize);
      auto labels = ctx.labels(*id, {{"mountpoint", mp}});
      capacity.add(labels, static_cast<double>(st.f_blocks) * frsize);
      usage.add(labels, static_cast<double>(st.f_blocks - st.f_bfree) * frsize);
      available.add(labels, static_cast<double>(st.f_bavail) * frsize);
    }
  }
  metrics::emit(out, capacity, usage, available);
  if (denied > 0) {
    return fail("cannot read the mount namespace of " + std::to_string(denied) +
                " container process(es) (CAP_SYS_PTRACE needed): those containers are not reported");
  }
  return {};
}

}  // namespace nodepack::kpod
