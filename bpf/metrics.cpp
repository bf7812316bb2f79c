#include "bpf/metrics.hpp"

#include <cmath>
#include <limits>

namespace nodepack::bpf {

namespace {
constexpr int kFirstEdgeLog2 = 10;  // 1024 ns
}

Log2Hist& Log2Hist::operator+=(const Log2Hist& o) {
  for (std::size_t i = 0; i < slots.size(); ++i) {
    slots[i] += o.slots[i];
  }
  sum_ns += o.sum_ns;
  count += o.count;
  return *this;
}

Log2Hist& Log2Hist::operator+=(const nodepack_hist& o) {
  for (std::size_t i = 0; i < slots.size(); ++i) {
    slots[i] += o.slots[i];
  }
  sum_ns += o.sum_ns;
  count += o.count;
  return *this;
}

std::vector<double> log2_bucket_bounds_seconds() {
  std::vector<double> out;
  for (int k = kFirstEdgeLog2; k < NODEPACK_HIST_SLOTS; ++k) {
    out.push_back(std::ldexp(1.0, k) / 1e9);
  }
  return out;
}

prometheus::MetricFamily make_family(std::string name, std::string help, prometheus::MetricType type) {
  prometheus::MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

std::vector<prometheus::ClientMetric::Label> pod_labels(const PodIdentity& id, const std::string& node,
                                                        std::vector<prometheus::ClientMetric::Label> extra) {
  std::vector<prometheus::ClientMetric::Label> out;
  out.push_back({"namespace", id.namespace_name});
  out.push_back({"pod", id.pod});
  if (!id.container.empty()) {
    out.push_back({"container", id.container});
  }
  out.push_back({"node", node});
  for (auto& l : extra) {
    out.push_back(std::move(l));
  }
  return out;
}

prometheus::ClientMetric counter_metric(std::vector<prometheus::ClientMetric::Label> labels, double value) {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  m.counter.value = value;
  return m;
}

prometheus::ClientMetric gauge_metric(std::vector<prometheus::ClientMetric::Label> labels, double value) {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  m.gauge.value = value;
  return m;
}

prometheus::ClientMetric histogram_metric(std::vector<prometheus::ClientMetric::Label> labels, const Log2Hist& h) {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  // Slot i holds values in [2^i, 2^(i+1)) ns, so everything up to slot k-1 is below 2^k ns.
  std::uint64_t cumulative = 0;
  int next_slot = 0;
  for (int k = kFirstEdgeLog2; k < NODEPACK_HIST_SLOTS; ++k) {
    for (; next_slot < k; ++next_slot) {
      cumulative += h.slots[static_cast<std::size_t>(next_slot)];
    }
    m.histogram.bucket.push_back({cumulative, std::ldexp(1.0, k) / 1e9});
  }
  for (; next_slot < NODEPACK_HIST_SLOTS; ++next_slot) {
    cumulative += h.slots[static_cast<std::size_t>(next_slot)];
  }
  // Count from the slots, not h.count: a read racing an update must still give monotonic buckets.
  m.histogram.bucket.push_back({cumulative, std::numeric_limits<double>::infinity()});
  m.histogram.sample_count = cumulative;
  m.histogram.sample_sum = static_cast<double>(h.sum_ns) * 1e-9;
  return m;
}

}  // namespace nodepack::bpf
