#pragma once

// The collectables served on /metrics, serialized with prometheus-cpp's TextSerializer.

#include <prometheus/collectable.h>

#include <memory>
#include <string>
#include <vector>

namespace nodepack::metrics {

class MetricsRegistry {
 public:
  void add(std::shared_ptr<prometheus::Collectable> collectable) { collectables_.push_back(std::move(collectable)); }
  std::string render() const;

 private:
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables_;
};

}  // namespace nodepack::metrics
