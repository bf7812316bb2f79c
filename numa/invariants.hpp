#pragma once

// What must hold of any topology the kubelet could see, checked on every load and by the tests on
// every fixture: each online CPU on exactly one NUMA node, per-node CPUs adding up to the online
// CPUs, per-node memory adding up to the machine's. A machine dump that breaks them (a node
// missing from sysfs) is reported, not repaired.

#include "numa/topology.hpp"

#include <optional>
#include <string>
#include <vector>

namespace nodepack::numa {

struct InvariantReport {
  bool cpus_on_one_node = true;            // no online CPU on two nodes, none on no node
  bool cpu_sum_matches = true;             // sum of per-node CPUs == online CPUs
  std::optional<bool> memory_sum_matches;  // sum of per-node memory == MemTotal; nullopt without /proc/meminfo
  std::vector<std::string> violations;     // what a person reads, one line per broken invariant

  bool holds() const { return violations.empty(); }
};

InvariantReport check_invariants(const Topology& topology);

}  // namespace nodepack::numa
