#pragma once

// What /metrics serves: collectables asked at every scrape, serialized in the text format
// (metrics/text_format.hpp, what prometheus-cpp's TextSerializer writes). A registry is itself a collectable, so parts
// can be grouped.

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace nodepack::metrics {

class MetricsRegistry final : public prometheus::Collectable {
 public:
  void add(std::shared_ptr<prometheus::Collectable> collectable) { collectables_.push_back(std::move(collectable)); }
  // A collectable owned elsewhere that outlives every scrape.
  void add_unowned(prometheus::Collectable& collectable);
  std::vector<prometheus::MetricFamily> Collect() const override;
  std::string render() const;

 private:
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables_;
};

// Families from a function, for values that move with the clock rather than with state.
class FunctionCollector final : public prometheus::Collectable {
 public:
  explicit FunctionCollector(std::function<std::vector<prometheus::MetricFamily>()> collect)
      : collect_(std::move(collect)) {}
  std::vector<prometheus::MetricFamily> Collect() const override { return collect_(); }

 private:
  std::function<std::vector<prometheus::MetricFamily>()> collect_;
};

}  // namespace nodepack::metrics
