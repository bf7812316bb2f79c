#pragma once

#include <filesystem>
#include <string>

namespace nodepack {

// Every host path the agent reads, filled once from flags and passed to constructors.
// Nothing reads "/sys" or "/var/lib/kubelet" directly, so tests point these at fixture trees and
// a containerised agent points them at the host's mounts.
struct HostPaths {
  std::filesystem::path host_root = "/";  // prefix for everything below when relative
  std::filesystem::path sysfs = "/sys";
  std::filesystem::path procfs = "/proc";
  std::filesystem::path cgroup = "/sys/fs/cgroup";
  std::filesystem::path kubelet_root = "/var/lib/kubelet";

  // Host paths rooted at `root` (e.g. "/host" in a container, or a fixture directory).
  static HostPaths under(const std::filesystem::path& root) {
    HostPaths p;
    p.host_root = root;
    p.sysfs = root / "sys";
    p.procfs = root / "proc";
    p.cgroup = root / "sys/fs/cgroup";
    p.kubelet_root = root / "var/lib/kubelet";
    return p;
  }
};

}  // namespace nodepack
