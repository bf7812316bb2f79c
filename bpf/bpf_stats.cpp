#include "bpf/bpf_stats.hpp"

#include "bpf/map_reader.hpp"

#include <bpf/bpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace nodepack::bpf {

int possible_cpus() {
  static const int n = [] {
    int r = libbpf_num_possible_cpus();
    return r > 0 ? r : 1;
  }();
  return n;
}

Result<BpfStatsSession> BpfStatsSession::enable() {
  int fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
  if (fd < 0) {
    return fail(std::string("enable BPF run-time stats: ") + std::strerror(errno));
  }
  return BpfStatsSession(fd);
}

BpfStatsSession::BpfStatsSession(BpfStatsSession&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}

BpfStatsSession& BpfStatsSession::operator=(BpfStatsSession&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) {
      ::close(fd_);
    }
    fd_ = std::exchange(o.fd_, -1);
  }
  return *this;
}

BpfStatsSession::~BpfStatsSession() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

std::vector<kpod::ProgramStats> program_stats_of(const struct bpf_object* obj) {
  std::vector<kpod::ProgramStats> out;
  if (obj == nullptr) {
    return out;
  }
  struct bpf_program* prog = nullptr;
  bpf_object__for_each_program(prog, obj) {
    int fd = bpf_program__fd(prog);
    if (fd < 0) {
      continue;  // not loaded (the other variant of a hook)
    }
    struct bpf_prog_info info {};
    __u32 len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) {
      continue;
    }
    out.push_back({bpf_program__name(prog), info.run_cnt, info.run_time_ns});
  }
  return out;
}

kpod::MapStats map_stats_of(const struct bpf_map* map, std::uint64_t entries) {
  return {bpf_map__name(map), entries, bpf_map__max_entries(map)};
}

}  // namespace nodepack::bpf
