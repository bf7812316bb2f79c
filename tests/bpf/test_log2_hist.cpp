#include "bpf/log2_hist.hpp"
#include "kpod/scope/pod_scope.hpp"

#include <catch2/catch.hpp>

#include <cmath>

namespace nb = nodepack::bpf;

TEST_CASE("log2 slots become cumulative Prometheus buckets in seconds, 1 µs to above 10 s") {
  nb::Log2Hist h;
  h.slots[3] = 2;   // 8..15 ns     → first bucket (le 1.024 µs)
  h.slots[10] = 5;  // 1024..2047 ns → le 2.048 µs
  h.slots[20] = 1;  // ~1 ms         → le 2^21 ns
  h.slots[35] = 4;  // ≥ 2^35 ns     → +Inf only
  h.count = 12;
  h.sum_ns = 3'000'000'000ULL;
  auto f = nodepack::metrics::Family::histogram("h", "help");
  nb::add_log2_histogram(f, {{"pod", "p"}}, h);
  const auto family = std::move(f).take();
  const auto& m = family.metric.at(0);
  const auto& b = m.histogram.bucket;
  REQUIRE(b.size() == 27);  // 2^10 .. 2^35 ns and +Inf
  CHECK(b.front().upper_bound == Approx(1.024e-6));
  CHECK(b.front().cumulative_count == 2);
  CHECK(b[1].upper_bound == Approx(2.048e-6));
  CHECK(b[1].cumulative_count == 7);
  CHECK(b[10].upper_bound == Approx(std::ldexp(1.0, 20) * 1e-9));
  CHECK(b[10].cumulative_count == 7);
  CHECK(b[11].cumulative_count == 8);
  CHECK(b[25].upper_bound == Approx(std::ldexp(1.0, 35) * 1e-9));
  CHECK(b[25].upper_bound > 10.0);
  CHECK(b[25].cumulative_count == 8);
  CHECK(std::isinf(b[26].upper_bound));
  CHECK(b[26].cumulative_count == 12);
  CHECK(m.histogram.sample_count == 12);
  CHECK(m.histogram.sample_sum == Approx(3.0));
  for (std::size_t i = 1; i < b.size(); ++i) {
    CHECK(b[i].cumulative_count >= b[i - 1].cumulative_count);
  }
}

TEST_CASE("a log2 histogram's samples are its slots' sum, whatever its count field holds") {
  nb::Log2Hist h;
  CHECK(nb::log2_samples(h) == 0);
  h.slots[0] = 2;
  h.slots[17] = 5;
  h.slots[NODEPACK_HIST_SLOTS - 1] = 1;
  h.count = 0;  // left alone by programs that share the histogram between CPUs
  CHECK(nb::log2_samples(h) == 8);
}

#include <prometheus/text_serializer.h>

TEST_CASE("a log2 histogram serializes as a Prometheus histogram with _bucket, _sum and _count") {
  nb::Log2Hist h;
  h.slots[12] = 3;  // 4..8 µs
  h.slots[25] = 1;  // ~33..67 ms
  h.sum_ns = 40'000'000;
  h.count = 4;
  auto fam = nodepack::metrics::Family::histogram("kpod_cpu_runqueue_latency_seconds", "help text");
  nb::add_log2_histogram(fam, nodepack::kpod::PodScope().labels({"ns", "p", "c", "uid"}, "n1"), h);
  const std::string text = prometheus::TextSerializer().Serialize({std::move(fam).take()});
  INFO(text);
  CHECK(text.find("# TYPE kpod_cpu_runqueue_latency_seconds histogram") != std::string::npos);
  CHECK(text.find("kpod_cpu_runqueue_latency_seconds_bucket{namespace=\"ns\",pod=\"p\",container=\"c\",node=\"n1\",le="
                  "\"+Inf\"} 4") != std::string::npos);
  CHECK(
      text.find("kpod_cpu_runqueue_latency_seconds_count{namespace=\"ns\",pod=\"p\",container=\"c\",node=\"n1\"} 4") !=
      std::string::npos);
  CHECK(
      text.find("kpod_cpu_runqueue_latency_seconds_sum{namespace=\"ns\",pod=\"p\",container=\"c\",node=\"n1\"} 0.04") !=
      std::string::npos);
  // 3 samples below 2^13 ns = 8.192 µs (prometheus-cpp prints 16 significant digits)
  const auto at = text.find("le=\"8.192");
  REQUIRE(at != std::string::npos);
  CHECK(text.substr(at, text.find('\n', at) - at).ends_with("} 3"));
}
