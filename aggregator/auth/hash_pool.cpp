#include "aggregator/auth/hash_pool.hpp"

#include <algorithm>

namespace nodepack::auth {

HashPool::HashPool(HashPoolOptions options)
    : capacity_(std::max<std::size_t>(options.threads, 1) + options.queue),
      pool_(std::max<std::size_t>(options.threads, 1)) {}

HashPool::~HashPool() {
  pool_.stop();
  pool_.join();
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
