#include "aggregator/auth/hash_pool.hpp"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

namespace nodepack::auth {

HashPool::HashPool(HashPoolOptions options)
    : capacity_(std::max<std::size_t>(options.threads, 1) + options.queue),
      pool_(std::max<std::size_t>(options.threads, 1)) {}

HashPool::~HashPool() {
  pool_.stop();
  pool_.join();
}

void HashPool::yield_to_serving_threads() {
  thread_local bool lowered = false;
  if (!lowered) {
    // PRIO_PROCESS with a thread id sets that thread's nice value alone (Linux); raising it needs
    // no privilege. Relative to the process's own (it may run niced already), at most 19. A
    // failure leaves the thread at the process's priority, as before.
    const auto tid = static_cast<id_t>(::syscall(SYS_gettid));
    const int nice = ::getpriority(PRIO_PROCESS, tid);  // -1 is a valid value too: no check needed
    ::setpriority(PRIO_PROCESS, tid, std::min(nice + 10, 19));
    lowered = true;
  }
}

bool HashPool::reserve() {
  auto used = in_use_.load();
  do {
    if (used >= capacity_) {
      return false;
    }
  } while (!in_use_.compare_exchange_weak(used, used + 1));
  return true;
}

}  // namespace nodepack::auth
