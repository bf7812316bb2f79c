#pragma once

// The part every BPF collector shares: a loaded skeleton kept alive (its programs stay attached
// and its maps readable while the collector lives), each program's run-time statistics, each
// map's fill and the inserts that failed because a map was full (the `map_errors` counter every
// object gets from maps.bpf.h).
//
// A collector opens its skeleton with load_skeleton(), which also routes libbpf's log, lets the
// collector choose what loads, loads and attaches.

#include "bpf/libbpf_log.hpp"
#include "bpf/map_reader.hpp"
#include "bpf/per_cpu_budget.hpp"
#include "bpf/skeleton.hpp"
#include "bpf/skip_cgroups.hpp"
#include "kpod/collector.hpp"

#include <bpf/libbpf.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace nodepack::bpf {

// A loaded and attached skeleton of any type.
class LoadedObject {
 public:
  LoadedObject() = default;
  template <class Skel>
  explicit LoadedObject(Skeleton<Skel> skel) : LoadedObject(std::make_shared<Skeleton<Skel>>(std::move(skel))) {}
  // Shared with a collector that keeps typed access to its maps.
  template <class Skel>
  explicit LoadedObject(std::shared_ptr<Skeleton<Skel>> skel) : obj_((*skel)->obj), owner_(std::move(skel)) {}

  explicit operator bool() const { return owner_ != nullptr; }
  const bpf_object* obj() const { return obj_; }

 private:
  const bpf_object* obj_ = nullptr;
  std::shared_ptr<void> owner_;  // Skeleton<Skel>: detaches and unloads when the last copy goes
};

// Logs maps made smaller to keep their per-CPU values within the budget (bpf/per_cpu_budget.hpp).
void log_resized(const std::vector<ResizedMap>& resized);

// Opens the skeleton, lets `configure(Skel*)` choose programs and maps (autoload, autocreate,
// read-only data), sizes its per-CPU hash maps to the per-map memory budget, shares the
// process's skip list of filtered cgroups with it, loads and attaches every autoloaded program.
template <class Skel, class Configure>
Result<Skeleton<Skel>> load_skeleton(Configure&& configure) {
  route_libbpf_logs_to_spdlog();
  auto skel = Skeleton<Skel>::open();
  if (!skel) {
    return skel.error();
  }
  configure(skel->get());
  log_resized(fit_per_cpu_hash_maps((*skel)->obj, possible_cpus()));
  SkipCgroups::shared().share_with((*skel)->obj);
  if (auto r = skel->load(); !r) {
    return r.error();
  }
  if (auto r = skel->attach(); !r) {
    return r.error();
  }
  return skel;
}

class BpfCollector : public kpod::Collector {
 public:
  std::vector<kpod::ProgramStats> program_stats() const override;
  std::vector<kpod::MapStats> map_stats() const override { return maps_; }
  std::uint64_t map_update_errors() const override;

 protected:
  void adopt(LoadedObject object) { object_ = std::move(object); }
  bool loaded() const { return static_cast<bool>(object_); }
  // The fill of a map as read at this scrape, for nodepack_bpf_map_{entries,capacity}.
  void record_map(const bpf_map* map, std::uint64_t entries);

 private:
  LoadedObject object_;
  std::vector<kpod::MapStats> maps_;
};

}  // namespace nodepack::bpf
