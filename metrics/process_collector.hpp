#pragma once

// The standard process_* metrics (as client_golang's process collector exports them), read from
// procfs at scrape time. prometheus-cpp 1.0 has no such collector.

#include "common/files.hpp"

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <filesystem>
#include <memory>
#include <mutex>
#include <vector>

namespace nodepack::metrics {

class ProcessCollector final : public prometheus::Collectable {
 public:
  // `procfs` is the proc mount to read `self/` from; the process's own, not the host's.
  explicit ProcessCollector(std::filesystem::path procfs = "/proc");
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::size_t open_fds() const;

  std::filesystem::path procfs_;
  // self/stat and self/limits, held open across scrapes (read from their start each time). Under
  // qemu-user, whose /proc/self/stat is a copy it writes when the file is opened, the held copy
  // stays as it was at the first scrape: emulated runs report no CPU time anyway.
  mutable std::mutex files_mu_;
  mutable HeldFile stat_;
  mutable HeldFile limits_;
  // Whether procfs_ is a proc mount (the descriptor count can then be read as a size), checked once.
  mutable std::once_flag fd_dir_checked_;
  mutable bool fd_dir_on_procfs_ = false;
  // self/fd held open on a proc mount, for its size.
  mutable std::unique_ptr<OpenDir> fd_dir_;
  // The boot time (btime of <procfs>/stat) does not change while the process runs: read once,
  // since /proc/stat is generated for every CPU at each read.
  mutable std::once_flag boot_time_read_;
  mutable double boot_time_ = 0;
};

}  // namespace nodepack::metrics
