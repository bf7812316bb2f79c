#pragma once

#include "common/result.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

namespace nodepack::cgroup {

// Helpers for collectors that look at a pod through one of its processes (its network and mount
// namespaces) rather than through cgroup files or BPF maps.

// A process of the cgroup `dir` or of a cgroup below it (depth-first, at most `max_depth` levels
// down) that still exists under `procfs`; nullopt when the cgroup has none. Reads cgroup.procs.
std::optional<int> first_live_process(const std::filesystem::path& dir, const std::filesystem::path& procfs,
                                      int max_depth = 3);

// Inode of <procfs>/<pid>/ns/<kind> ("net", "mnt"): equal inodes are the same namespace.
std::optional<std::uint64_t> namespace_inode(const std::filesystem::path& procfs, int pid, std::string_view kind);

// The process each pod or container (keyed by its cgroup id) is looked at through, kept from one
// scrape to the next: while the namespace link of <kind> of the process found last names the
// same namespace (one stat), it is used again without reading the cgroups' cgroup.procs. A pid
// reused by another process in the same namespace looks at the same namespace; one elsewhere, or
// gone, is looked up afresh.
class NamespaceReaders {
 public:
  NamespaceReaders(std::filesystem::path procfs, std::string kind)
      : procfs_(std::move(procfs)), kind_(std::move(kind)) {}

  struct Reader {
    int pid = 0;
    std::optional<std::uint64_t> ns;  // nullopt: the link could not be read (not ours to read)
  };
  // A live process of `key`'s `cgroups` (first_live_process, in order) and its namespace.
  std::optional<Reader> find(std::uint64_t key, std::span<const std::filesystem::path> cgroups);
  // Forgets the keys `keep` says no to (pods and containers gone).
  void retain(const std::function<bool(std::uint64_t)>& keep);

 private:
  std::filesystem::path procfs_;
  std::string kind_;
  std::unordered_map<std::uint64_t, Reader> readers_;  // only readers whose namespace was read
};

// The node's namespace of `kind`: that of <procfs>/1 (init), or, where init's namespace links
// cannot be read (a sandbox that hides pid 1), that of <procfs>/self, the agent's own, which
// is the node's for an agent run with hostNetwork/hostPID as node agents are. `from` tells which.
struct HostNamespace {
  std::uint64_t inode = 0;
  std::string from;  // "<procfs>/1/ns/<kind>" or "<procfs>/self/ns/<kind>"
};
std::optional<HostNamespace> host_namespace(const std::filesystem::path& procfs, std::string_view kind);
// The same, or an error saying what a collector needs to read it; `needed_for` says why it asks.
Result<HostNamespace> require_host_namespace(const std::filesystem::path& procfs, std::string_view kind,
                                             std::string_view needed_for);

// mountinfo escapes space, tab, newline and backslash in paths as \ooo.
std::string unescape_mountinfo_path(std::string_view s);

}  // namespace nodepack::cgroup
