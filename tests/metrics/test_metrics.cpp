#include "metrics/family.hpp"
#include "metrics/histogram.hpp"
#include "metrics/registry.hpp"
#include "metrics/text_format.hpp"

#include <catch2/catch.hpp>

#include <cmath>

using namespace nodepack::metrics;

TEST_CASE("a family keeps its type: counters and gauges land in their own field") {
  std::vector<prometheus::MetricFamily> out;
  Family::counter("c_total", "a counter").add({{"k", "v"}}, 3).into(out);
  auto g = Family::gauge("g", "a gauge");
  g.add({}, 1.5).add({{"x", "y"}}, -2);
  CHECK(g.size() == 2);
  emit(out, g);
  REQUIRE(out.size() == 2);
  CHECK(out[0].type == prometheus::MetricType::Counter);
  CHECK(out[0].metric.at(0).counter.value == 3);
  CHECK(out[0].metric.at(0).label.at(0).value == "v");
  CHECK(out[1].metric.at(0).gauge.value == 1.5);
  CHECK(out[1].metric.at(1).gauge.value == -2);
}

TEST_CASE("a histogram counts each value in the first bucket whose bound is at least it") {
  Histogram h({0.1, 1, 10});
  for (double v : {0.05, 0.1, 0.5, 1.0, 7.0, 100.0}) {
    h.observe(v);
  }
  const auto b = h.buckets();
  REQUIRE(b.size() == 4);
  CHECK(b[0].cumulative_count == 2);  // 0.05, 0.1
  CHECK(b[1].cumulative_count == 4);  // + 0.5, 1.0
  CHECK(b[2].cumulative_count == 5);  // + 7
  CHECK(std::isinf(b[3].upper_bound));
  CHECK(b[3].cumulative_count == 6);
  CHECK(h.sum() == Approx(108.65));
  auto f = Family::histogram("h_seconds", "help");
  f.add_histogram({}, b, h.sum());
  const auto family = std::move(f).take();
  CHECK(family.metric.at(0).histogram.sample_count == 6);
  CHECK(family.metric.at(0).histogram.sample_sum == Approx(108.65));
}

TEST_CASE("a registry renders every collectable it holds, and nests") {
  auto inner = std::make_shared<MetricsRegistry>();
  inner->add(std::make_shared<FunctionCollector>([] {
    std::vector<prometheus::MetricFamily> out;
    Family::gauge("inner_value", "from the nested registry").add({}, 7).into(out);
    return out;
  }));
  MetricsRegistry outer;
  outer.add(inner);
  FunctionCollector owned_elsewhere([] {
    std::vector<prometheus::MetricFamily> out;
    Family::counter("outer_total", "owned by the caller").add({}, 2).into(out);
    return out;
  });
  outer.add_unowned(owned_elsewhere);
  const auto text = outer.render();
  CHECK(text.find("inner_value 7") != std::string::npos);
  CHECK(text.find("outer_total 2") != std::string::npos);
  // Rendered a collectable at a time, nested ones in place: the same bytes as all families at once,
  // in order, and again on the next scrape (sized from this one).
  std::string all_at_once;
  append_text(all_at_once, outer.Collect());
  CHECK(text == all_at_once);
  CHECK(text.find("inner_value") < text.find("outer_total"));
  CHECK(outer.render() == text);
}

TEST_CASE("a registry writes the next scrape into the buffer it was given back") {
  MetricsRegistry registry;
  registry.add(std::make_shared<FunctionCollector>([] {
    std::vector<prometheus::MetricFamily> out;
    Family::gauge("value", "a gauge").add({}, 1).into(out);
    return out;
  }));
  std::string first = registry.render();
  const std::string expected = first;
  first += "stale bytes the next scrape must not carry";
  first.reserve(1 << 16);  // room for the next text and the margin render() asks for
  const void* storage = first.data();
  registry.recycle(std::move(first));
  const std::string second = registry.render();
  CHECK(second == expected);
  CHECK(static_cast<const void*>(second.data()) == storage);  // the same allocation, not a fresh one
  // Without a buffer given back the next render allocates its own, with the same text.
  CHECK(registry.render() == expected);
  // A buffer above the bound is not kept.
  std::string huge;
  huge.reserve(MetricsRegistry::max_spare_bytes + 1);
  const void* huge_storage = huge.data();
  registry.recycle(std::move(huge));
  CHECK(static_cast<const void*>(registry.render().data()) != huge_storage);
}
