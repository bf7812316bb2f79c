#include "metrics/family.hpp"

#include <utility>

namespace nodepack::metrics {

Family::Family(std::string name, std::string help, prometheus::MetricType type) {
  family_.name = std::move(name);
  family_.help = std::move(help);
  family_.type = type;
}

Family Family::gauge(std::string name, std::string help) {
  return Family(std::move(name), std::move(help), prometheus::MetricType::Gauge);
}

Family Family::counter(std::string name, std::string help) {
  return Family(std::move(name), std::move(help), prometheus::MetricType::Counter);
}

Family Family::renamed(std::string name, std::string help) const {
  Family copy = *this;
  copy.family_.name = std::move(name);
  copy.family_.help = std::move(help);
  return copy;
}

Family Family::histogram(std::string name, std::string help) {
  return Family(std::move(name), std::move(help), prometheus::MetricType::Histogram);
}

Family& Family::add(Labels labels, double value) & {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  if (family_.type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  family_.metric.push_back(std::move(m));
  return *this;
}

Family& Family::add_histogram(Labels labels, const std::vector<Bucket>& buckets, double sum) {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  m.histogram.bucket.reserve(buckets.size());
  for (const auto& b : buckets) {
    m.histogram.bucket.push_back({b.cumulative_count, b.upper_bound});
  }
  m.histogram.sample_count = buckets.empty() ? 0 : buckets.back().cumulative_count;
  m.histogram.sample_sum = sum;
  family_.metric.push_back(std::move(m));
  return *this;
}

void Family::into(std::vector<prometheus::MetricFamily>& out) && { out.push_back(std::move(family_)); }

}  // namespace nodepack::metrics
