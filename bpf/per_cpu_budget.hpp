#pragma once

// Bounds the kernel memory of per-CPU maps on machines with many CPUs. A per-CPU value exists
// once per possible CPU and LRU hash maps are allocated whole when loaded, so a per-cgroup map
// of 4,096 entries with a histogram in its value takes 1.35 MB per CPU: 86 MB on a 64-CPU node,
// 260 MB on a 192-CPU one, for each such map, which kernels that charge BPF memory to the
// loader's memory cgroup count against the agent pod's limit (where it is passed, loading fails).
// Before an object loads, its per-CPU hash maps (and the arrays a collector names, whose indices
// it hands out itself) get fewer entries where the whole would pass a per-map budget; below
// about a dozen CPUs nothing changes. bpf/README.md, "Map sizes".

#include <bpf/libbpf.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace nodepack::bpf {

struct PerCpuBudget {
  std::size_t bytes_per_map = std::size_t{16} << 20;
  std::uint32_t min_entries = 256;  // a node's pods and services fit in this many cgroups at least
};

struct ResizedMap {
  std::string name;
  std::uint32_t from = 0;
  std::uint32_t to = 0;
  std::size_t budget_bytes = 0;  // the budget it was fitted to, for the log
};

// The entries a per-CPU map of `value_size`-byte values may have on `cpus` CPUs within the
// budget: `max_entries` when it fits, else what fits, but never fewer than the budget's minimum.
std::uint32_t entries_within(const PerCpuBudget& budget, std::uint32_t max_entries, std::uint32_t value_size, int cpus);

// Before `obj` loads: every per-CPU hash map it will create, sized to the budget. Returns the
// maps it made smaller, for the log.
std::vector<ResizedMap> fit_per_cpu_hash_maps(bpf_object* obj, int cpus, const PerCpuBudget& budget = {});
// The same for one per-CPU array whose indices the collector hands out itself, up to
// bpf_map__max_entries() (an array indexed by meaning must not be given to this).
std::optional<ResizedMap> fit_per_cpu_array(bpf_map* array, int cpus, const PerCpuBudget& budget = {});

}  // namespace nodepack::bpf
