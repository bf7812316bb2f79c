#pragma once

// Reading the small text files procfs, sysfs and cgroupfs are made of.

#include <sys/stat.h>

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
  // The directory's own attributes (fstat), or nullopt when it is not open.
  std::optional<struct stat> attributes() const;

 private:
  int fd_;
};

// One file held open and read again from its start at each read(): for the procfs files a
// process reads about itself at every scrape (/proc/self/stat, limits), whose content the kernel
// generates afresh at offset 0. Opening them by path each time walked /proc/self and made a new
// file object (with its security and memory-cgroup hooks) for a read of a few hundred bytes.
// Opened on the first read and again after a failed one; a file replaced by another (a rename
// over it) is not followed, so this is not for files written that way.
class HeldFile {
 public:
  explicit HeldFile(std::filesystem::path path);
  HeldFile(const HeldFile&) = delete;
  HeldFile& operator=(const HeldFile&) = delete;
  ~HeldFile();

  // The whole file as it is now, or nullopt when it cannot be opened or read.
  std::optional<std::string> read();

 private:
  void close();

  std::filesystem::path path_;
  int fd_ = -1;
};

}  // namespace nodepack
