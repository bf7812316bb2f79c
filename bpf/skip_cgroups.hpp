#pragma once

// The cgroups of pods the kpod filters leave out (--kpod.namespaces, --kpod.exclude-namespaces,
// --kpod.label-selector), as one BPF hash map every loaded object shares: maps.bpf.h declares
// `skip_cgroups` in each, and load_skeleton() points each at this process's one map before the
// object loads, so one update reaches every program. A program that meets a cgroup with no entry
// yet looks here before inserting one, so a filtered pod costs no map slot.
//
// One per process because the kernel's view is: every collector sees the same cgroups.

#include <bpf/libbpf.h>

#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace nodepack::bpf {

class SkipCgroups {
 public:
  static SkipCgroups& shared();

  // Before `obj` loads: its `skip_cgroups` map becomes this one. Without a map of our own (the
  // kernel refused to create it, logged once) the object keeps its own, always empty, and
  // filtered pods cost a slot until the collector drops their entries at the next scrape.
  void share_with(bpf_object* obj);
  // The cgroup ids to skip from now on (replaces the previous set; only the difference is
  // written). Ids beyond the map's capacity are left out, and counted in `overflow()`.
  void set(const std::vector<std::uint64_t>& ids);
  std::size_t size() const;
  // Whether `id` is to be skipped (the set last given, whether or not the kernel map holds it).
  bool contains(std::uint64_t id) const;
  std::uint64_t overflow() const;
  // Whether the kernel map holds `id` (tests).
  bool in_kernel(std::uint64_t id) const;

  static constexpr std::uint32_t kCapacity = 16384;  // pods x cgroups each, far above a node's

 private:
  SkipCgroups();
  mutable std::mutex mu_;
  int fd_ = -1;
  std::set<std::uint64_t> ids_;
  std::uint64_t overflow_ = 0;
};

}  // namespace nodepack::bpf
