#pragma once
// Helpers for tests whose fake pods live in their own network or mount namespaces.

#include <unistd.h>

#include <cstdlib>
#include <string>

namespace nodepack::testing {

// Runs a shell command line (iproute2 `ip`/`tc` here); true when it exited 0.
inline bool run(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0; }

// A pipe a child uses to say "ready" (one byte) and the parent to say "stop" (EOF).
struct Signal {
  int fds[2]{-1, -1};
  Signal() {
    if (::pipe(fds) != 0) {
      fds[0] = fds[1] = -1;
    }
  }
  ~Signal() {
    close_read();
    close_write();
  }
  void close_read() {
    if (fds[0] >= 0) {
      ::close(fds[0]);
      fds[0] = -1;
    }
  }
  void close_write() {
    if (fds[1] >= 0) {
      ::close(fds[1]);
      fds[1] = -1;
    }
  }
  void notify() const {
    char c = 1;
    (void)!::write(fds[1], &c, 1);
  }
  // Blocks until one byte arrives (true) or every writer is gone (false).
  bool wait() const {
    char c = 0;
    return ::read(fds[0], &c, 1) == 1;
  }
};

}  // namespace nodepack::testing
