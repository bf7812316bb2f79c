#pragma once

// The cross-check of the kubelet's two accounts: when both pod-resources and the checkpoint files
// are there, every per-NUMA number they share is compared, and a difference is said
// (numainfo_source_mismatch, /debug/numa) rather than silently resolved.

#include "numa/placements.hpp"

#include <map>
#include <string>
#include <vector>

namespace nodepack::numa {

struct SourceMismatch {
  std::string resource;  // "cpu", "memory", "hugepages-2Mi", a device resource
  std::string where;     // "node01", "node00+node02" for a block over two nodes, "none" for no affinity
  std::string podresources;
  std::string checkpoint;
};

struct SourceCheck {
  bool compared = false;
  std::string not_compared_because;  // when !compared
  // Every resource compared -> how many NUMA nodes (or groups) differ; 0 when they agree.
  std::map<std::string, std::size_t> differing;
  std::vector<SourceMismatch> mismatches;
};

// What to compare: the checkpoint accounts in use whose content is current.
struct CompareScope {
  bool cpu = false;
  bool memory = false;
  bool devices = false;
};

SourceCheck compare_tallies(const NumaTally& podresources, const NumaTally& checkpoints, CompareScope scope);

}  // namespace nodepack::numa
