#pragma once

// Which pod and container a process belongs to, from its /proc/<pid>/cgroup (v2 or v1 lines).

#include "cgroup/kubelet_names.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>

namespace nodepack::cgroup {

// The first kubepods container path in <procfs>/<pid>/cgroup; nullopt for a process that is not a
// pod's container, or one that is gone.
std::optional<ContainerCgroup> container_of_process(const std::filesystem::path& procfs, std::uint32_t pid);

}  // namespace nodepack::cgroup
