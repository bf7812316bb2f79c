#include "common/files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>

namespace nodepack {

namespace {

// Closes the descriptor however the read ends.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) {
      ::close(fd);
    }
  }
};

// open and read, not an ifstream: procfs and cgroupfs files are read by the hundred at every
// scrape and pod change, and a stream's buffers, locale and copies through a stringstream cost
// more than the kernel's own work for a file of a few lines. Their sizes say nothing (procfs
// reports 0, sysfs 4096), so read until end of file.
std::optional<std::string> read_at(int dir_fd, const char* path) {
  Fd f{::openat(dir_fd, path, O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) {
    return std::nullopt;
  }
  std::string out;
  std::array<char, 4096> buf;
  for (;;) {
    const ssize_t n = ::read(f.fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return std::nullopt;  // EISDIR, or a process or cgroup that went away mid-read
    }
    if (n == 0) {
      return out;
    }
    out.append(buf.data(), static_cast<std::size_t>(n));
  }
}

}  // namespace

std::optional<std::string> read_small_file(const std::filesystem::path& p) { return read_at(AT_FDCWD, p.c_str()); }

OpenDir::OpenDir(const std::filesystem::path& dir) : fd_(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC)) {}

OpenDir::~OpenDir() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

std::optional<std::string> OpenDir::read(const char* name) const {
  if (fd_ < 0) {
    return std::nullopt;
  }
  return read_at(fd_, name);
}

}  // namespace nodepack
