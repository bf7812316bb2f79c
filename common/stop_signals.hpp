#pragma once

// SIGINT/SIGTERM handling for the long-running modes: the signals are blocked before any thread
// starts (threads inherit the mask), so only wait() receives them and shutdown runs on the main
// thread, outside any signal handler.

#include <pthread.h>
#include <csignal>

namespace nodepack {

class StopSignals {
 public:
  StopSignals() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
  }
  // Blocks until SIGINT or SIGTERM; returns its name for the log line.
  const char* wait() {
    int signal = 0;
    sigwait(&set_, &signal);
    return signal == SIGTERM ? "SIGTERM" : "SIGINT";
  }

 private:
  sigset_t set_{};
};

}  // namespace nodepack
