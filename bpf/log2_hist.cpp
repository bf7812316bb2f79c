#include "bpf/log2_hist.hpp"

#include <cmath>
#include <limits>

namespace nodepack::bpf {

namespace {
constexpr int kFirstEdgeLog2 = 10;  // 1024 ns
}

std::vector<double> log2_bucket_bounds_seconds() {
  std::vector<double> out;
  for (int k = kFirstEdgeLog2; k < NODEPACK_HIST_SLOTS; ++k) {
    out.push_back(std::ldexp(1.0, k) / 1e9);
  }
  return out;
}

std::vector<metrics::Bucket> log2_buckets(const nodepack_hist& h) {
  std::vector<metrics::Bucket> out;
  out.reserve(NODEPACK_HIST_SLOTS - kFirstEdgeLog2 + 1);
  // Slot i holds values in [2^i, 2^(i+1)) ns, so everything up to slot k-1 is below 2^k ns.
  std::uint64_t cumulative = 0;
  int next_slot = 0;
  for (int k = kFirstEdgeLog2; k < NODEPACK_HIST_SLOTS; ++k) {
    for (; next_slot < k; ++next_slot) {
      cumulative += h.slots[static_cast<std::size_t>(next_slot)];
    }
    out.push_back({std::ldexp(1.0, k) / 1e9, cumulative});
  }
  for (; next_slot < NODEPACK_HIST_SLOTS; ++next_slot) {
    cumulative += h.slots[static_cast<std::size_t>(next_slot)];
  }
  out.push_back({std::numeric_limits<double>::infinity(), cumulative});
  return out;
}

std::uint64_t log2_samples(const nodepack_hist& h) {
  std::uint64_t n = 0;
  for (const auto slot : h.slots) {
    n += slot;
  }
  return n;
}

void add_log2_histogram(metrics::Family& family, metrics::Labels labels, const nodepack_hist& h) {
  family.add_histogram(std::move(labels), log2_buckets(h), static_cast<double>(h.sum_ns) * 1e-9);
}

}  // namespace nodepack::bpf
