#pragma once

// The log2 latency histograms every BPF program keeps (nodepack_hist.h), exported as Prometheus
// histograms.

#include "bpf/summed.hpp"
#include "metrics/family.hpp"
#include "nodepack_hist.h"

#include <vector>

namespace nodepack::bpf {

// A log2 histogram summed over CPUs and cgroups, in user space.
using Log2Hist = Summed<nodepack_hist>;

// Finite bucket edges the log2 slots are exported with: 2^10 ns (~1 µs) .. 2^35 ns (~34 s),
// doubling; slots below 2^10 ns fold into the first bucket, the top slot into +Inf only.
std::vector<double> log2_bucket_bounds_seconds();

// The histogram as cumulative buckets in seconds; the +Inf count is the sample count, taken
// from the slots (not h.count) so a read racing an update still gives monotonic buckets.
std::vector<metrics::Bucket> log2_buckets(const nodepack_hist& h);

// The values recorded in `h`: its slots' sum. Programs that share a histogram between CPUs
// (atomic adds) leave h.count alone to save an atomic add per value; this is the count for all.
std::uint64_t log2_samples(const nodepack_hist& h);

// One histogram sample of `h` in `family`, in seconds.
void add_log2_histogram(metrics::Family& family, metrics::Labels labels, const nodepack_hist& h);

}  // namespace nodepack::bpf
