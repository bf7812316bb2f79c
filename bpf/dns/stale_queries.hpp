#pragma once

// Queries no answer came for in time. The kernel remembers each query a pod sends in the
// `inflight` map until its answer arrives; one that never arrives is found here, at a scrape,
// once it is older than the timeout. Whoever deletes an entry counts it (the kernel, for an
// answer, or this sweep, for a timeout), so each query counts exactly once.

#include <bpf/libbpf.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <unordered_set>

namespace nodepack::bpf {

class StaleQueries {
 public:
  explicit StaleQueries(std::chrono::nanoseconds timeout) : timeout_(timeout) {}

  // Deletes every entry of `inflight` older than the timeout, or asked from a cgroup in `ended`
  // (gone from disk: its sockets will never read an answer), and counts it against its cgroup.
  // Returns how many entries it leaves (queries waiting for their answer).
  std::size_t sweep(const bpf_map* inflight, const std::unordered_set<std::uint64_t>& ended);
  // Timeouts counted so far, per cgroup id (cumulative, like the kernel's counters).
  const std::map<std::uint64_t, std::uint64_t>& timeouts() const { return timeouts_; }
  // Cgroups read for the last time: their counts are retired with the rest of their values.
  void forget(const std::unordered_set<std::uint64_t>& removed);

 private:
  std::chrono::nanoseconds timeout_;
  std::map<std::uint64_t, std::uint64_t> timeouts_;
};

}  // namespace nodepack::bpf
