#include "metrics/registry.hpp"

#include "metrics/text_format.hpp"

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

std::string MetricsRegistry::render() const {
  const auto families = Collect();
  std::string out;
  // About 128 bytes a series: one allocation for most scrapes instead of a doubling series.
  std::size_t series = 0;
  for (const auto& family : families) {
    series += family.metric.size();
  }
  out.reserve(series * 128 + families.size() * 128);
  append_text(out, families);
  return out;
}

}  // namespace nodepack::metrics
