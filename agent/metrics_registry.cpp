#include "agent/metrics_registry.hpp"

#include <prometheus/text_serializer.h>

namespace nodepack::metrics {

std::string MetricsRegistry::render() const {
  std::vector<prometheus::MetricFamily> families;
  for (const auto& c : collectables_) {
    auto collected = c->Collect();
    families.insert(families.end(), std::make_move_iterator(collected.begin()),
                    std::make_move_iterator(collected.end()));
  }
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace nodepack::metrics
