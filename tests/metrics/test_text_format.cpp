#include "metrics/text_format.hpp"

#include <prometheus/text_serializer.h>

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>

using namespace nodepack::metrics;

namespace {

prometheus::ClientMetric sample(std::vector<prometheus::ClientMetric::Label> labels, double value) {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  m.counter.value = value;
  m.gauge.value = value;
  m.untyped.value = value;
  return m;
}

std::string ours(const std::vector<prometheus::MetricFamily>& families) {
  std::string out;
  append_text(out, families);
  return out;
}

}  // namespace

TEST_CASE("the text format is byte for byte prometheus-cpp's TextSerializer") {
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> values{0,
                             1,
                             -2,
                             0.1,
                             1.0 / 3,
                             1e-7,
                             1e20,
                             -1e-300,
                             123456789012345678.0,
                             0.025,
                             5e-324,
                             1.7976931348623157e308,
                             16106127360,
                             0.0001627604166666667,
                             99.5,
                             std::nan(""),
                             inf,
                             -inf};
  std::mt19937_64 random(7);
  std::uniform_real_distribution<double> any(-1e6, 1e6);
  for (int i = 0; i < 200; ++i) {
    values.push_back(any(random));
    values.push_back(std::ldexp(any(random), static_cast<int>(random() % 200) - 100));
    values.push_back(std::round(std::ldexp(any(random), static_cast<int>(random() % 60))));
  }
  std::vector<prometheus::MetricFamily> families;
  for (const auto type :
       {prometheus::MetricType::Counter, prometheus::MetricType::Gauge, prometheus::MetricType::Untyped}) {
    prometheus::MetricFamily family{"x_total", "help with \"quotes\" and \\", type, {}};
    for (const double v : values) {
      family.metric.push_back(sample({{"pod", "a\"b\\c\nd"}, {"ns", ""}}, v));
    }
    family.metric.push_back(sample({}, 3));
    family.metric.back().timestamp_ms = 1700000000123;
    families.push_back(family);
  }
  families.push_back(prometheus::MetricFamily{"no_help", "", prometheus::MetricType::Gauge, {sample({}, 1)}});
  prometheus::MetricFamily histogram{"h_seconds", "a histogram", prometheus::MetricType::Histogram, {}};
  prometheus::ClientMetric open;  // no +Inf bucket of its own: the serializer adds one
  open.label = {{"k", "v"}};
  open.histogram.sample_count = 9;
  open.histogram.sample_sum = 12.75;
  open.histogram.bucket = {{1, 0.005}, {4, 0.1}, {8, 2.5}};
  prometheus::ClientMetric closed;
  closed.histogram.sample_count = 3;
  closed.histogram.sample_sum = 0.3;
  closed.histogram.bucket = {{2, 1e-4}, {3, inf}};
  histogram.metric = {open, closed};
  families.push_back(histogram);
  prometheus::MetricFamily summary{"s", "a summary", prometheus::MetricType::Summary, {}};
  prometheus::ClientMetric quantiles;
  quantiles.summary.sample_count = 5;
  quantiles.summary.sample_sum = 2.5;
  quantiles.summary.quantile = {{0.5, 0.4}, {0.99, 1.0 / 7}};
  summary.metric = {quantiles};
  families.push_back(summary);

  const auto expected = prometheus::TextSerializer().Serialize(families);
  CHECK(ours(families) == expected);
  CHECK(ours({}) == "");
}
