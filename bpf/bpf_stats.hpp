#pragma once

#include "common/result.hpp"
#include "kpod/collector.hpp"

#include <bpf/libbpf.h>

namespace nodepack::bpf {

// Keeps kernel BPF run-time statistics (run_cnt, run_time_ns per program) switched on for as
// long as it lives (the kernel counts while any such fd is open).
class BpfStatsSession {
 public:
  static Result<BpfStatsSession> enable();
  BpfStatsSession(const BpfStatsSession&) = delete;
  BpfStatsSession& operator=(const BpfStatsSession&) = delete;
  BpfStatsSession(BpfStatsSession&& o) noexcept;
  BpfStatsSession& operator=(BpfStatsSession&& o) noexcept;
  ~BpfStatsSession();

 private:
  explicit BpfStatsSession(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// run_cnt/run_time_ns of every loaded program of an object.
std::vector<kpod::ProgramStats> program_stats_of(const struct bpf_object* obj);

// Capacity of every map of an object; entries left 0 for the caller to fill.
kpod::MapStats map_stats_of(const struct bpf_map* map, std::uint64_t entries);

}  // namespace nodepack::bpf
