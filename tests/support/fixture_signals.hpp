#pragma once

// Browser-test fixtures serve until SIGTERM or SIGINT. The signals are blocked before any thread
// starts, so every thread inherits the mask and the one sigwait() below receives them.

#include <csignal>

#include <pthread.h>

namespace nodepack::testing {

class FixtureSignals {
 public:
  FixtureSignals() {
    sigemptyset(&signals_);
    sigaddset(&signals_, SIGINT);
    sigaddset(&signals_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
  }

  void wait() {
    int signal = 0;
    sigwait(&signals_, &signal);
  }

 private:
  sigset_t signals_{};
};

}  // namespace nodepack::testing
