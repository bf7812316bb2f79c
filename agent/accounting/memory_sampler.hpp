#pragma once

// memory.current of every container cgroup, named (pod uid, container) through the agent's
// shared cgroup resolver, for the used byte-seconds integral.

#include "agent/accounting/request_integrator.hpp"
#include "cgroup/resolver.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <utility>
#include <vector>

namespace nodepack::agent::accounting {

class MemorySampler {
 public:
  // `pods_generation` tells whether pods changed since the last sample: then the tree is walked
  // again first, so a container started since the last walk is sampled now, unless someone else
  // (the kernel collectors, on pod events) walked it since the last sample.
  MemorySampler(cgroup::CgroupResolver& resolver, std::function<std::uint64_t()> pods_generation);

  std::vector<std::pair<ContainerKey, std::uint64_t>> sample();

 private:
  cgroup::CgroupResolver& resolver_;
  std::function<std::uint64_t()> pods_generation_;
  std::optional<std::uint64_t> seen_generation_;
  std::uint64_t seen_walks_ = 0;  // the resolver's walks() after the last sample's own walk
};

}  // namespace nodepack::agent::accounting
