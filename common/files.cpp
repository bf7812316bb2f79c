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

// To end of file: from the file position of a descriptor just opened, or by pread from offset 0
// for one held open (`from_start`), whose position the last read left at the end.
std::optional<std::string> read_to_end(int fd, bool from_start) {
  std::string out;
  std::array<char, 4096> buf;
  for (;;) {
    const ssize_t n = from_start ? ::pread(fd, buf.data(), buf.size(), static_cast<off_t>(out.size()))
                                 : ::read(fd, buf.data(), buf.size());
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

// open and read, not an ifstream: procfs and cgroupfs files are read by the hundred at every
// scrape and pod change, and a stream's buffers, locale and copies through a stringstream cost
// more than the kernel's own work for a file of a few lines. Their sizes say nothing (procfs
// reports 0, sysfs 4096), so read until end of file.
std::optional<std::string> read_at(int dir_fd, const char* path) {
  Fd f{::openat(dir_fd, path, O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) {
    return std::nullopt;
  }
  return read_to_end(f.fd, false);
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

std::optional<struct stat> OpenDir::attributes() const {
  struct stat st {};
  if (fd_ < 0 || ::fstat(fd_, &st) != 0) {
    return std::nullopt;
  }
  return st;
}

HeldFile::HeldFile(std::filesystem::path path) : path_(std::move(path)) {}

HeldFile::~HeldFile() { close(); }

void HeldFile::close() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

std::optional<std::string> HeldFile::read() {
  if (fd_ < 0) {
    fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) {
      return std::nullopt;
    }
  }
  auto text = read_to_end(fd_, true);
  if (!text) {
    close();  // opened again next time: the file may have come back
  }
  return text;
}

}  // namespace nodepack
