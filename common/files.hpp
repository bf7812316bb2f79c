#pragma once

// Reading the small text files procfs, sysfs and cgroupfs are made of.

#include <filesystem>
#include <optional>
#include <string>

namespace nodepack {

// The whole file, or nullopt when it cannot be opened or read (a process or cgroup that just
// went away, a file the kernel does not have, a directory).
std::optional<std::string> read_small_file(const std::filesystem::path& p);

// A directory held open (O_PATH) to read several of its files by name: each is opened relative
// to it, so the kernel walks the directory's path once rather than once per file. A container's
// cgroup directory is eight or more components deep and cgroupfs revalidates each one, which
// made the path walks most of what reading its half-dozen files cost.
class OpenDir {
 public:
  explicit OpenDir(const std::filesystem::path& dir);
  OpenDir(const OpenDir&) = delete;
  OpenDir& operator=(const OpenDir&) = delete;
  ~OpenDir();

  // False when the directory could not be opened (gone, or not a directory): every read fails.
  bool is_open() const { return fd_ >= 0; }
  // The file `name` in the directory, as read_small_file() reads one.
  std::optional<std::string> read(const char* name) const;

 private:
  int fd_;
};

}  // namespace nodepack
