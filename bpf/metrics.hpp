#pragma once

#include "bpf/cgroup_resolver.hpp"
#include "nodepack_hist.h"

#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace nodepack::bpf {

// A log2 histogram summed over CPUs and cgroups, in user space.
struct Log2Hist {
  std::array<std::uint64_t, NODEPACK_HIST_SLOTS> slots{};
  std::uint64_t sum_ns = 0;
  std::uint64_t count = 0;

  Log2Hist& operator+=(const Log2Hist& o);
  Log2Hist& operator+=(const nodepack_hist& o);
};

// Finite bucket edges the log2 slots are exported with: 2^10 ns (~1 µs) .. 2^35 ns (~34 s),
// doubling; slots below 2^10 ns fold into the first bucket, the top slot into +Inf only.
std::vector<double> log2_bucket_bounds_seconds();

prometheus::MetricFamily make_family(std::string name, std::string help, prometheus::MetricType type);

// namespace, pod, container (omitted when empty), node, then any extra labels.
std::vector<prometheus::ClientMetric::Label> pod_labels(const PodIdentity& id, const std::string& node,
                                                        std::vector<prometheus::ClientMetric::Label> extra = {});

prometheus::ClientMetric counter_metric(std::vector<prometheus::ClientMetric::Label> labels, double value);
prometheus::ClientMetric gauge_metric(std::vector<prometheus::ClientMetric::Label> labels, double value);
prometheus::ClientMetric histogram_metric(std::vector<prometheus::ClientMetric::Label> labels, const Log2Hist& h);

}  // namespace nodepack::bpf
