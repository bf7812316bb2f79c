#pragma once

// numainfo_* metrics, built from the current snapshot at every scrape.

#include "numa/numa_state.hpp"

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <string>
#include <vector>

namespace nodepack::numa {

struct VersionInfo {
  std::string branch;
  std::string compiler;
  std::string kubeversion;
  std::string revision;
  std::string version;

  // numainfo_version's labels as numainfo_exporter filled them, for this build (version_info.cpp).
  static VersionInfo of_this_build();
};

// "node" plus the NUMA id as at least two digits, as numainfo_exporter names them.
std::string numanode_label(unsigned id);

std::vector<prometheus::MetricFamily> numa_metric_families(const NumaSnapshot& snapshot, const VersionInfo& version);

class NumaCollector : public prometheus::Collectable {
 public:
  NumaCollector(const NumaState& state, VersionInfo version) : state_(state), version_(std::move(version)) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const NumaState& state_;
  VersionInfo version_;
};

}  // namespace nodepack::numa
