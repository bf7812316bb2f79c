#pragma once

// The whole of a collector whose programs count into one map keyed by cgroup id (libbpf-tools'
// shape: x.bpf.c + x.h + x_collector.cpp). It loads through the collector's `load`, and at each
// scrape reads the map (per-CPU values summed), folds it into per-pod series that stay monotonic
// across container restarts, deletes the entries of cgroups gone from disk, and hands the rows to
// the collector's `emit`. The collector file holds only what is its own:
//
//   CgroupMap load(FeatureProbe&)          choose the hook flavour, load, name the map
//   void emit(rows, ctx, out)             the kpod_* families
//   make_<x>_collector(deps)              new CgroupMapCollector<x_stats>(load, emit)
//
// Cgroup programs (cgroup_skb, ...) named in CgroupMap::per_kubepods are attached to every
// kubepods cgroup the resolver finds, at start and at each scrape (a new QoS class's cgroup).

#include "bpf/bpf_collector.hpp"
#include "bpf/cgroup_attachments.hpp"
#include "bpf/feature_probe.hpp"
#include "bpf/map_reader.hpp"
#include "bpf/summed.hpp"
#include "kpod/pod_series.hpp"

#include <spdlog/spdlog.h>

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace nodepack::bpf {

// A loaded object and its per-cgroup map, with a word for the start-up log ("tp_btf").
struct CgroupMap {
  LoadedObject object;
  const bpf_map* map = nullptr;
  std::string how;
  std::vector<bpf_program*> per_kubepods = {};  // attached by the collector to each kubepods cgroup
};

inline bool is_per_cpu(const bpf_map* map) {
  const auto type = bpf_map__type(map);
  return type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_LRU_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_ARRAY;
}

// Every (cgroup id, value) of a hash map keyed by cgroup id (LRU, per-CPU or not), CPUs summed.
template <class Stats>
std::vector<std::pair<std::uint64_t, Summed<Stats>>> read_cgroup_map(const bpf_map* map) {
  // The kernel writes value_size bytes per CPU: a struct that is not the map's own would be
  // overrun, so a mismatch (x.h and x.bpf.c out of step) reads nothing.
  if (bpf_map__key_size(map) != sizeof(std::uint64_t) || bpf_map__value_size(map) != sizeof(Stats)) {
    return {};
  }
  const int fd = bpf_map__fd(map);
  if (is_per_cpu(map)) {
    return read_percpu_hash_map<std::uint64_t, Stats, Summed<Stats>>(
        fd, [](Summed<Stats>& acc, const Stats& v) { acc += v; });
  }
  std::vector<std::pair<std::uint64_t, Summed<Stats>>> out;
  for (const auto& [id, v] : read_hash_map<std::uint64_t, Stats>(fd)) {
    out.emplace_back(id, v);
  }
  return out;
}

// Folds what was read into per-pod rows and deletes the entries of removed cgroups (read here
// for the last time).
template <class Value>
std::vector<typename kpod::PodSeries<Value>::Row> fold_and_drop(
    kpod::PodSeries<Value>& series, const kpod::ScrapeContext& ctx,
    const std::vector<std::pair<std::uint64_t, Value>>& read, const bpf_map* map) {
  std::vector<std::uint64_t> drop;
  auto rows = series.fold(ctx, read, drop);
  for (auto id : drop) {
    bpf_map_delete_elem(bpf_map__fd(map), &id);
  }
  return rows;
}

template <class Stats>
class CgroupMapCollector final : public BpfCollector {
 public:
  using Value = Summed<Stats>;
  using Rows = std::vector<typename kpod::PodSeries<Value>::Row>;
  using Load = std::function<Result<CgroupMap>(FeatureProbe&)>;
  using Emit = std::function<void(const Rows&, const kpod::ScrapeContext&, std::vector<prometheus::MetricFamily>&)>;

  CgroupMapCollector(std::string name, FeatureProbe& features, Load load, Emit emit,
                     const cgroup::CgroupResolver* kubepods = nullptr)
      : name_(std::move(name)),
        features_(features),
        load_(std::move(load)),
        emit_(std::move(emit)),
        kubepods_(kubepods) {}

  Result<void> start() override {
    auto loaded = load_(features_);
    if (!loaded) {
      return loaded.error();
    }
    spdlog::info("bpf collector {}: attached ({})", name_, loaded->how);
    map_ = loaded->map;
    adopt(std::move(loaded->object));
    if (!loaded->per_kubepods.empty() && kubepods_ != nullptr) {
      attachments_.emplace(name_, std::move(loaded->per_kubepods));
      attachments_->attach_new(*kubepods_);
    }
    return {};
  }

  Result<void> collect(const kpod::ScrapeContext& ctx, std::vector<prometheus::MetricFamily>& out) override {
    if (!loaded()) {
      return fail("not started");
    }
    if (attachments_) {
      attachments_->attach_new(*kubepods_);
    }
    const auto read = read_cgroups();
    record_map(map_, read.size());
    emit_(fold_and_drop(series_, ctx, read, map_), ctx, out);
    return {};
  }

  // What the map holds now, per cgroup id (tests compare it with the kernel's own counts).
  std::vector<std::pair<std::uint64_t, Value>> read_cgroups() const {
    return loaded() ? read_cgroup_map<Stats>(map_) : std::vector<std::pair<std::uint64_t, Value>>{};
  }
  // Kubepods cgroups the per_kubepods programs are attached to.
  std::vector<std::filesystem::path> attached_cgroups() const {
    return attachments_ ? attachments_->attached() : std::vector<std::filesystem::path>{};
  }

 private:
  std::string name_;
  FeatureProbe& features_;
  Load load_;
  Emit emit_;
  const cgroup::CgroupResolver* kubepods_;
  const bpf_map* map_ = nullptr;
  std::optional<CgroupAttachments> attachments_;
  kpod::PodSeries<Value> series_;
};

}  // namespace nodepack::bpf
