#pragma once

// The numainfo_* families that say where the numbers came from: the pod-resources API's state,
// the source of each number, where the kubelet's two accounts disagree, and the PCI devices no
// device plugin hands out.

#include "numa/numa_state.hpp"

#include <prometheus/metric_family.h>

#include <vector>

namespace nodepack::numa {

void add_source_families(std::vector<prometheus::MetricFamily>& out, const NumaSnapshot& snapshot);

}  // namespace nodepack::numa
