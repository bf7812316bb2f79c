#pragma once

// Where the cgroup v2 tree is, found rather than assumed (pure v2 and hybrid hosts differ).

#include "common/host_paths.hpp"
#include "common/result.hpp"

#include <filesystem>

namespace nodepack::cgroup {

// HostPaths.cgroup itself on a pure v2 host, its `unified` child on a hybrid host, otherwise the
// first cgroup2 mount in <procfs>/self/mountinfo. Decided by the filesystem magic
// (CGROUP2_SUPER_MAGIC), never by the path's name.
Result<std::filesystem::path> find_cgroup2_root(const HostPaths& paths);

}  // namespace nodepack::cgroup
