#include "metrics/registry.hpp"

#include <prometheus/text_serializer.h>

namespace nodepack::metrics {

void MetricsRegistry::add_unowned(prometheus::Collectable& collectable) {
  // An aliasing shared_ptr with no control block: it never deletes.
  collectables_.push_back(std::shared_ptr<prometheus::Collectable>(std::shared_ptr<void>(), &collectable));
}

std::vector<prometheus::MetricFamily> MetricsRegistry::Collect() const {
  std::vector<prometheus::MetricFamily> families;
  for (const auto& c : collectables_) {
    auto collected = c->Collect();
    families.insert(families.end(), std::make_move_iterator(collected.begin()),
                    std::make_move_iterator(collected.end()));
  }
  return families;
}

std::string MetricsRegistry::render() const { return prometheus::TextSerializer().Serialize(Collect()); }

}  // namespace nodepack::metrics
