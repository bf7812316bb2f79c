#pragma once

// memory.current of every container cgroup, named (pod uid, container) through the pod store,
// for the used byte-seconds integral. It walks the cgroup tree with bpf/'s CgroupResolver, the
// resolution the kpod_* cgroup collector uses; in a build without BPF that code is absent and
// so is this sampler: create() says why, and accounting keeps its request integrals.

#include "agent/accounting/request_integrator.hpp"
#include "agent/node_state.hpp"
#include "common/host_paths.hpp"
#include "common/result.hpp"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <utility>
#include <vector>

namespace nodepack::agent::accounting {

class MemorySampler {
 public:
  // Finds the cgroup v2 tree under the host paths.
  static Result<std::unique_ptr<MemorySampler>> create(const HostPaths& paths, const NodeState& state);
  // A given cgroup v2 root (fixture trees in tests).
  static Result<std::unique_ptr<MemorySampler>> at(const std::filesystem::path& v2_root, const NodeState& state);
  ~MemorySampler();

  // Re-walks the tree when the pods changed since the last call, then reads every container's
  // memory.current.
  std::vector<std::pair<ContainerKey, std::uint64_t>> sample();

 private:
  struct Impl;
  explicit MemorySampler(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace nodepack::agent::accounting
