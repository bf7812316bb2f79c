#pragma once

#include "kpod/collector.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace nodepack::kpod {

// Folds per-cgroup values read from a map into per-(pod, container) series, and keeps counters
// monotonic when cgroups come and go (a restarted container gets a new cgroup but the same
// labels): values of removed cgroups are kept in a "retired" sum until their pod is gone.
//
// V must be default-constructible and have operator+=.
template <class V>
class PodSeries {
 public:
  struct Row {
    cgroup::PodIdentity id;
    V value;
  };

  // `read` is everything in the map now. Returns the rows to export and, in `drop`, the cgroup
  // ids whose map entries the caller should delete (removed cgroups, read for the last time).
  std::vector<Row> fold(const ScrapeContext& ctx, const std::vector<std::pair<std::uint64_t, V>>& read,
                        std::vector<std::uint64_t>& drop) {
    std::map<Key, Row> rows;
    for (auto& [key, r] : retired_) {
      rows.emplace(key, r);
    }
    std::vector<std::pair<Key, Row>> to_retire;
    for (const auto& [cgid, v] : read) {
      auto id = ctx.resolver.resolve(cgid);
      bool removed = ctx.removed.contains(cgid);
      if (removed) {
        drop.push_back(cgid);
      }
      if (!id) {
        continue;  // not a pod cgroup, or a pod the store does not know (yet)
      }
      if (!ctx.scope.tracks(*id)) {
        if (!removed) {
          drop.push_back(cgid);  // filtered out: its entry goes, and the BPF side skips it from now on
        }
        continue;
      }
      Key key = key_of(*id);
      auto [it, inserted] = rows.try_emplace(key, Row{*id, V{}});
      it->second.value += v;
      if (removed) {
        to_retire.emplace_back(key, Row{*id, v});
      }
    }
    for (auto& [key, r] : to_retire) {
      auto [it, inserted] = retired_.try_emplace(key, Row{r.id, V{}});
      it->second.value += r.value;
    }
    // A pod with no cgroup left on disk is gone: this scrape was its last.
    for (auto it = retired_.begin(); it != retired_.end();) {
      if (!ctx.resolver.pod_alive(it->second.id.pod_uid)) {
        it = retired_.erase(it);
      } else {
        ++it;
      }
    }
    std::vector<Row> out;
    out.reserve(rows.size());
    for (auto& [key, r] : rows) {
      out.push_back(std::move(r));
    }
    return out;
  }

  std::size_t retired_size() const { return retired_.size(); }

 private:
  using Key = std::tuple<std::string, std::string, std::string>;  // pod uid, container, pod name
  static Key key_of(const cgroup::PodIdentity& id) { return {id.pod_uid, id.container, id.pod}; }

  std::map<Key, Row> retired_;
};

}  // namespace nodepack::kpod
