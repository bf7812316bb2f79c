#pragma once

// What this binary is: version, git revision and compiler, for `nodepack version`, the pages and
// nodepack_build_info.

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <string>
#include <vector>

namespace nodepack::metrics {

std::string nodepack_version();
std::string nodepack_revision();
std::string nodepack_branch();  // the git branch built from, "unknown" without one
std::string compiler_version();

// nodepack_build_info{version,revision,compiler} 1
class BuildInfoCollector final : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override;
};

}  // namespace nodepack::metrics
