#pragma once

// The kubelet's memory manager with the Static policy for one simulated node: each Guaranteed
// container's memory and hugepages reserved on the NUMA node(s) its CPUs went to (as the topology
// manager's single-numa-node policy aligns them), else on the lowest node with room, else on a
// group of nodes (every node of the group then names the group in its cells); freed when the pod
// goes. Kept in `<kubelet-dir>/memory_manager_state` in the layout kubelets 1.21 and later write
// (no podEntries) with the checksum the kubelet computes.

#include "common/result.hpp"
#include "numa/checkpoint.hpp"
#include "sim/machine.hpp"

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace nodepack::sim {

// resource ("memory", "hugepages-2Mi") -> bytes
using MemoryRequests = std::map<std::string, std::uint64_t>;

class SimulatedMemoryManager {
 public:
  // `system_reserved`: --reserved-memory, NUMA node -> resource -> bytes.
  SimulatedMemoryManager(const Machine& machine, const std::map<int, MemoryRequests>& system_reserved);

  // Reserves a container's requests, on `preferred` NUMA nodes when they have room. Returns the
  // NUMA nodes used; empty when no node or group of nodes has room (the kubelet would have
  // refused the pod; the simulator leaves the container without a reservation).
  std::vector<int> allocate(const std::string& pod, const std::string& container, const MemoryRequests& requests,
                            const std::vector<int>& preferred);
  // Frees what the pod's containers hold; false when they held nothing.
  bool release(const std::string& pod);

  const std::map<int, numa::NumaMemoryState>& machine_state() const { return state_; }
  // pod UID -> container -> blocks
  const std::map<std::string, std::map<std::string, std::vector<numa::MemoryBlock>>>& entries() const {
    return entries_;
  }

  Result<void> write(const std::filesystem::path& kubelet_dir) const;

 private:
  bool fits(const std::vector<int>& group, const MemoryRequests& requests) const;
  bool groupable(const std::vector<int>& group) const;
  void reserve(const std::vector<int>& group, const std::string& resource, std::uint64_t size);

  std::map<int, numa::NumaMemoryState> state_;
  std::map<std::string, std::map<std::string, std::vector<numa::MemoryBlock>>> entries_;
};

}  // namespace nodepack::sim
