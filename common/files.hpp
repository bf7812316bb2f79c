#pragma once

// Reading the small text files procfs, sysfs and cgroupfs are made of.

#include <filesystem>
#include <optional>
#include <string>

namespace nodepack {

// The whole file, or nullopt when it cannot be opened or read (a process or cgroup that just
// went away, a file the kernel does not have, a directory).
std::optional<std::string> read_small_file(const std::filesystem::path& p);

}  // namespace nodepack
