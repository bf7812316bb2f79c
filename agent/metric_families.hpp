#pragma once

// Small builders for prometheus-cpp metric families made at scrape time.

#include <prometheus/metric_family.h>

#include <initializer_list>
#include <string>
#include <utility>

namespace nodepack::metrics {

inline prometheus::MetricFamily family(std::string name, std::string help, prometheus::MetricType type) {
  prometheus::MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

inline prometheus::MetricFamily gauge_family(std::string name, std::string help) {
  return family(std::move(name), std::move(help), prometheus::MetricType::Gauge);
}

inline prometheus::MetricFamily counter_family(std::string name, std::string help) {
  return family(std::move(name), std::move(help), prometheus::MetricType::Counter);
}

inline void add_sample(prometheus::MetricFamily& f, std::initializer_list<std::pair<std::string, std::string>> labels,
                       double value) {
  prometheus::ClientMetric m;
  for (const auto& [k, v] : labels) {
    m.label.push_back(prometheus::ClientMetric::Label{k, v});
  }
  if (f.type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  f.metric.push_back(std::move(m));
}

}  // namespace nodepack::metrics
