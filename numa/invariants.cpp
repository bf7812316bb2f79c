#include "numa/invariants.hpp"

namespace nodepack::numa {

InvariantReport check_invariants(const Topology& t) {
  InvariantReport r;
  CpuSet seen;
  std::size_t cpu_sum = 0;
  std::uint64_t memory_sum = 0;
  for (const auto& n : t.nodes) {
    const CpuSet twice = seen.intersected(n.cpus);
    if (!twice.empty()) {
      r.cpus_on_one_node = false;
      r.violations.push_back("CPUs " + twice.to_string() + " are on node" + std::to_string(n.id) +
                             " and on another node");
    }
    seen = seen.united(n.cpus);
    cpu_sum += n.cpus.size();
    memory_sum += n.memory_bytes;
  }
  const CpuSet nowhere = t.online_cpus.without(seen);
  if (!nowhere.empty()) {
    r.cpus_on_one_node = false;
    r.violations.push_back("online CPUs " + nowhere.to_string() + " are on no NUMA node");
  }
  if (cpu_sum != t.online_cpus.size()) {
    r.cpu_sum_matches = false;
    r.violations.push_back("per-node CPUs add up to " + std::to_string(cpu_sum) + ", the machine has " +
                           std::to_string(t.online_cpus.size()) + " online");
  }
  if (t.memory_total_bytes) {
    r.memory_sum_matches = memory_sum == *t.memory_total_bytes;
    if (!*r.memory_sum_matches) {
      r.violations.push_back("per-node memory adds up to " + std::to_string(memory_sum) + " bytes, MemTotal is " +
                             std::to_string(*t.memory_total_bytes));
    }
  }
  return r;
}

}  // namespace nodepack::numa
