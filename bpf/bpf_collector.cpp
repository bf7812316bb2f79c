#include "bpf/bpf_collector.hpp"

#include "bpf/bpf_stats.hpp"
#include "bpf/map_reader.hpp"

#include <bpf/bpf.h>
#include <spdlog/spdlog.h>

namespace nodepack::bpf {

void log_resized(const std::vector<ResizedMap>& resized) {
  for (const auto& m : resized) {
    spdlog::info("bpf map {}: {} entries instead of {}, to keep its per-CPU values on {} CPUs within {} MiB", m.name,
                 m.to, m.from, possible_cpus(), m.budget_bytes >> 20);
  }
}

std::vector<kpod::ProgramStats> BpfCollector::program_stats() const { return program_stats_of(object_.obj()); }

std::uint64_t BpfCollector::map_update_errors() const {
  if (!object_) {
    return 0;
  }
  const bpf_map* map = bpf_object__find_map_by_name(object_.obj(), "map_errors");
  if (map == nullptr) {
    return 0;
  }
  std::vector<std::uint64_t> per_cpu(static_cast<std::size_t>(possible_cpus()));
  const std::uint32_t key = 0;
  if (bpf_map_lookup_elem(bpf_map__fd(map), &key, per_cpu.data()) != 0) {
    return 0;
  }
  std::uint64_t sum = 0;
  for (auto n : per_cpu) {
    sum += n;
  }
  return sum;
}

void BpfCollector::record_map(const bpf_map* map, std::uint64_t entries) {
  auto stats = map_stats_of(map, entries);
  for (auto& m : maps_) {
    if (m.map == stats.map) {
      m = std::move(stats);
      return;
    }
  }
  maps_.push_back(std::move(stats));
}

}  // namespace nodepack::bpf
