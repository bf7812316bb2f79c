// Quantity parsing and arithmetic: every pod event parses a few dozen quantities.

#include "kube/quantity.hpp"

#include <benchmark/benchmark.h>

#include <array>
#include <string_view>

namespace {

using nodepack::kube::Quantity;

// The forms an API server actually sends, plus a few hand-written ones.
constexpr std::array<std::string_view, 12> kMix = {"100m",  "250m",  "1",     "2Gi", "512Mi", "1.5G",
                                                   "129e6", "1500u", "0.5Gi", "110", "1Ki",   "3.25"};

void BM_QuantityParseMix(benchmark::State& state) {
  for (auto _ : state) {
    for (std::string_view text : kMix) {
      auto q = Quantity::parse(text);
      benchmark::DoNotOptimize(q);
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kMix.size()));
}
BENCHMARK(BM_QuantityParseMix);

void BM_QuantityParseLongDigits(benchmark::State& state) {
  // More than 18 significant digits takes the exact decimal-text path.
  for (auto _ : state) {
    auto q = Quantity::parse("1.00000000000000000001Ki");
    benchmark::DoNotOptimize(q);
  }
}
BENCHMARK(BM_QuantityParseLongDigits);

void BM_QuantitySumAndRound(benchmark::State& state) {
  const Quantity part = Quantity::parse("333.3m").value();
  for (auto _ : state) {
    Quantity sum;
    for (int i = 0; i < 100; ++i) {
      sum += part;
    }
    benchmark::DoNotOptimize(sum.milli_value_ceil());
  }
  state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_QuantitySumAndRound);

void BM_QuantityToString(benchmark::State& state) {
  const Quantity q = Quantity::parse("1500u").value();
  for (auto _ : state) {
    auto s = q.to_string();
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_QuantityToString);

}  // namespace
