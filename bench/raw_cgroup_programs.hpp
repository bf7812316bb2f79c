#pragma once
// cgroup_skb programs attached to one cgroup outside any collector, for bench_net_overhead: the
// programs of a BPF object file (say the same collector built from an older commit, so before and
// after run in one session), or a pair that returns at once (what any cgroup_skb program costs
// on this machine, the floor under every figure).
#include "common/result.hpp"
#include "kpod/collector.hpp"

#include <bpf/libbpf.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace nodepack::bench {

class RawCgroupPrograms {
 public:
  static Result<std::unique_ptr<RawCgroupPrograms>> from_object(const std::string& path,
                                                                const std::filesystem::path& cgroup);
  static Result<std::unique_ptr<RawCgroupPrograms>> returning_at_once(const std::filesystem::path& cgroup);
  RawCgroupPrograms(const RawCgroupPrograms&) = delete;
  RawCgroupPrograms& operator=(const RawCgroupPrograms&) = delete;
  ~RawCgroupPrograms();

  // run_cnt / run_time_ns of each program since it was loaded.
  std::vector<kpod::ProgramStats> stats() const;

 private:
  RawCgroupPrograms() = default;
  struct Program {
    std::string name;
    int fd = -1;  // owned unless it belongs to object_
    int link = -1;
  };
  bpf_object* object_ = nullptr;
  std::vector<Program> programs_;
};

}  // namespace nodepack::bench
