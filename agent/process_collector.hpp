#pragma once

// The standard process_* metrics (as client_golang's process collector exports them), read from
// procfs at scrape time. prometheus-cpp 1.0 has no such collector.

#include <prometheus/collectable.h>

#include <filesystem>
#include <string>
#include <vector>

namespace nodepack::metrics {

class ProcessCollector final : public prometheus::Collectable {
 public:
  // `procfs` is the proc mount to read `self/` from; the process's own, not the host's.
  explicit ProcessCollector(std::filesystem::path procfs = "/proc");
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::filesystem::path procfs_;
};

// nodepack_build_info{version,revision,compiler} 1
class BuildInfoCollector final : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override;
};

std::string nodepack_version();
std::string nodepack_revision();
std::string compiler_version();

}  // namespace nodepack::metrics
