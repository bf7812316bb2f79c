#pragma once

#include "cgroup/pod_process.hpp"
#include "common/clock.hpp"
#include "common/host_paths.hpp"
#include "kpod/collector.hpp"
#include "kpod/fs/statvfs_worker.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace nodepack::kpod {

// kpod_fs_{capacity,usage,available}_bytes{mountpoint} per container: statvfs of the container's
// root ("/") and of its kubelet volume mounts, seen from one live process of the container:
// mounts come from <procfs>/<pid>/mountinfo and are measured through <procfs>/<pid>/root, so the
// agent needs no access to the container's mount namespace beyond procfs. Containers in the
// host's mount namespace (same ns/mnt inode as <procfs>/1) are skipped: their "/" is the node's.
//
// The figures are those of the filesystem behind the mount: for an overlay root or a volume
// that is a directory on the node's disk (emptyDir, hostPath) that is the whole backing
// filesystem, shared with others; for tmpfs, block and network volumes it is the volume itself.
//
// statvfs of a dead network mount can block for minutes: calls run on a worker thread and are
// given up after `statvfs_timeout`; that mount is then skipped until the call returns.
//
// A container's mounts are measured (a statvfs each) at most once per `refresh` (10 s): a scrape
// sooner reports the figures of the last read, as the kubelet's own filesystem stats come from a
// periodic read. Filesystem sizes move slowly; a thread and two files per container at every
// scrape were most of the agent's scrape cost on a full node. Which mounts a container has is
// read (mountinfo) at most once per `mount_list_refresh` (60 s, the kubelet's default volume
// stats period) while its process stays in the same mount namespace: a container's volumes are
// mounted before it starts, and the kernel's rendering of mountinfo was the largest part of
// what remained.
class FsCollector final : public Collector {
 public:
  explicit FsCollector(HostPaths paths, std::chrono::milliseconds statvfs_timeout = std::chrono::seconds(1),
                       const Clock* clock = &SystemClock::instance(),
                       std::chrono::milliseconds refresh = std::chrono::seconds(10),
                       std::chrono::milliseconds mount_list_refresh = std::chrono::seconds(60));
  ~FsCollector() override;

  Result<void> start() override;
  Result<void> collect(const ScrapeContext& ctx, std::vector<prometheus::MetricFamily>& out) override;

 private:
  HostPaths paths_;
  std::uint64_t host_mnt_ = 0;  // the node's mount namespace (inode), read at start: it outlives the agent
  std::chrono::milliseconds timeout_;
  StatvfsWorker statvfs_;
  cgroup::NamespaceReaders readers_;  // by container cgroup id: the process it was last read through
  const Clock* clock_;
  std::chrono::milliseconds refresh_;
  std::chrono::milliseconds mount_list_refresh_;
  // Each container's last read (by cgroup id): when, and per mount point its statvfs figures.
  struct Mount {
    std::string mountpoint;
    double capacity = 0, usage = 0, available = 0;
  };
  struct LastRead {
    std::chrono::steady_clock::time_point at;
    std::vector<Mount> mounts;
    bool denied = false;  // its process's mount namespace was not ours to read
    // Where and when the mount points were listed (mountinfo): the list serves the reads that
    // follow while they are in that namespace and within `mount_list_refresh` of it.
    std::uint64_t mnt_ns = 0;
    std::chrono::steady_clock::time_point listed_at;
    std::vector<std::string> mountpoints;
  };
  std::unordered_map<std::uint64_t, LastRead> last_;
  // A container's read begun: its mount points, listed again unless `last` (its previous read,
  // or null) listed them recently in the same namespace, and the paths to measure them by
  // (`statvfs_paths`, one per mount point, appended); nullopt when there is nothing to report
  // for it this time. Its mounts are measured with every other container's, then filled in.
  std::optional<LastRead> begin_read(const cgroup::CgroupResolver::LiveCgroup& cg, const cgroup::PodIdentity& id,
                                     std::chrono::steady_clock::time_point now, const LastRead* last,
                                     std::vector<std::string>& statvfs_paths);
};

// Mount points (in the container's view) worth reporting for pod `pod_uid`, from a mountinfo
// text: "/" and every mount whose source path (mountinfo's root field) lies in the pod's volumes
// directory, <kubelet_root>/pods/<uid>/volumes/. The root field is relative to the filesystem
// the source lives on, so with the kubelet root on its own filesystem (or inside a separately
// mounted /var) it shows as /pods/<uid>/volumes/... (or /lib/kubelet/pods/...): a root field
// that starts with any trailing part of the kubelet root followed by /pods/<uid>/volumes/ is
// accepted. In file order, each once.
std::vector<std::string> pod_volume_mounts(std::string_view mountinfo, std::string_view pod_uid,
                                           const std::filesystem::path& kubelet_root);

}  // namespace nodepack::kpod
