#include "bpf/per_cpu_budget.hpp"

#include <algorithm>
#include <utility>

namespace nodepack::bpf {

std::uint32_t entries_within(const PerCpuBudget& budget, std::uint32_t max_entries, std::uint32_t value_size,
                             int cpus) {
  // The kernel rounds each CPU's copy of a value up to 8 bytes.
  const std::size_t per_entry = ((std::size_t{value_size} + 7) / 8 * 8) * static_cast<std::size_t>(std::max(cpus, 1));
  const std::size_t fits = budget.bytes_per_map / std::max<std::size_t>(per_entry, 1);
  if (fits >= max_entries) {
    return max_entries;
  }
  return std::min(max_entries, std::max(budget.min_entries, static_cast<std::uint32_t>(fits)));
}

namespace {

bool is_per_cpu_hash(const bpf_map* map) {
  const auto type = bpf_map__type(map);
  return type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

std::optional<ResizedMap> fit(bpf_map* map, int cpus, const PerCpuBudget& budget) {
  if (!bpf_map__autocreate(map)) {
    return std::nullopt;  // not created: costs nothing
  }
  const std::uint32_t from = bpf_map__max_entries(map);
  const std::uint32_t to = entries_within(budget, from, bpf_map__value_size(map), cpus);
  if (to >= from || bpf_map__set_max_entries(map, to) != 0) {
    return std::nullopt;
  }
  return ResizedMap{bpf_map__name(map), from, to, budget.bytes_per_map};
}

}  // namespace

std::vector<ResizedMap> fit_per_cpu_hash_maps(bpf_object* obj, int cpus, const PerCpuBudget& budget) {
  std::vector<ResizedMap> resized;
  bpf_map* map = nullptr;
  bpf_object__for_each_map(map, obj) {
    if (is_per_cpu_hash(map)) {
      if (auto r = fit(map, cpus, budget)) {
        resized.push_back(std::move(*r));
      }
    }
  }
  return resized;
}

std::optional<ResizedMap> fit_per_cpu_array(bpf_map* array, int cpus, const PerCpuBudget& budget) {
  if (array == nullptr || bpf_map__type(array) != BPF_MAP_TYPE_PERCPU_ARRAY) {
    return std::nullopt;
  }
  return fit(array, cpus, budget);
}

}  // namespace nodepack::bpf
