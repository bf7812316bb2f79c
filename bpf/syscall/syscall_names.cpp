#include "bpf/syscall/syscall_names.hpp"

#include <sys/syscall.h>

#include <utility>

namespace nodepack::bpf {
namespace {

// From the C library's <sys/syscall.h> for the architecture we are built for, so the numbers
// always match the kernel ABI of the binary.
#define NP_SC(name) \
  { #name, SYS_##name }
const std::vector<std::pair<std::string_view, int>>& table() {
  static const std::vector<std::pair<std::string_view, int>> t = {
      NP_SC(read),           NP_SC(write),      NP_SC(openat),
      NP_SC(close),          NP_SC(connect),    NP_SC(accept),
      NP_SC(accept4),        NP_SC(sendto),     NP_SC(recvfrom),
      NP_SC(sendmsg),        NP_SC(recvmsg),    NP_SC(epoll_pwait),
      NP_SC(futex),          NP_SC(fsync),      NP_SC(fdatasync),
      NP_SC(mmap),           NP_SC(munmap),     NP_SC(clone),
      NP_SC(execve),         NP_SC(nanosleep),  NP_SC(clock_nanosleep),
      NP_SC(pread64),        NP_SC(pwrite64),   NP_SC(readv),
      NP_SC(writev),         NP_SC(socket),     NP_SC(bind),
      NP_SC(listen),         NP_SC(shutdown),   NP_SC(newfstatat),
      NP_SC(statx),          NP_SC(getdents64), NP_SC(ioctl),
      NP_SC(io_uring_enter), NP_SC(ppoll),      NP_SC(pselect6),
      NP_SC(sendmmsg),       NP_SC(recvmmsg),   NP_SC(splice),
      NP_SC(unlinkat),       NP_SC(renameat2),  NP_SC(mkdirat),
      NP_SC(getrandom),      NP_SC(wait4),      NP_SC(kill),
#ifdef SYS_open
      NP_SC(open),           NP_SC(epoll_wait), NP_SC(poll),
      NP_SC(select),         NP_SC(stat),       NP_SC(fork),
      NP_SC(vfork),
#endif
  };
  return t;
}
#undef NP_SC

}  // namespace

std::optional<int> syscall_number(std::string_view name) {
  for (const auto& [n, nr] : table()) {
    if (n == name) {
      return nr;
    }
  }
  return std::nullopt;
}

std::string syscall_name(int nr) {
  for (const auto& [n, num] : table()) {
    if (num == nr) {
      return std::string(n);
    }
  }
  return "nr_" + std::to_string(nr);
}

const std::vector<std::string>& default_tracked_syscalls() {
  static const std::vector<std::string> d = {"read",        "write",    "openat",  "close",   "connect", "accept4",
                                             "sendto",      "recvfrom", "sendmsg", "recvmsg", "fsync",   "futex",
                                             "epoll_pwait", "execve",   "clone",   "mmap"};
  return d;
}

}  // namespace nodepack::bpf
