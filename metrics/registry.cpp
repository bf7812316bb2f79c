#include "metrics/registry.hpp"

#include "metrics/streamed_collector.hpp"
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
  std::string out;
  {
    const std::lock_guard lock(spare_.mutex);
    out.swap(spare_.buffer);
  }
  out.clear();
  // A little above the last scrape's size: one allocation for most scrapes instead of doubling.
  const std::size_t last = last_render_.bytes.load(std::memory_order_relaxed);
  out.reserve(last + last / 8 + 4096);
  append_to(out);
  last_render_.bytes.store(out.size(), std::memory_order_relaxed);
  return out;
}

void MetricsRegistry::recycle(std::string&& buffer) const {
  if (buffer.capacity() > max_spare_bytes) {
    return;  // one unusually large scrape does not pin its pages for good
  }
  const std::lock_guard lock(spare_.mutex);
  if (buffer.capacity() > spare_.buffer.capacity()) {
    spare_.buffer = std::move(buffer);
  }
}

void MetricsRegistry::append_to(std::string& out) const {
  for (const auto& c : collectables_) {
    if (const auto* nested = dynamic_cast<const MetricsRegistry*>(c.get())) {
      nested->append_to(out);
    } else if (const auto* streamed = dynamic_cast<const StreamedCollector*>(c.get())) {
      streamed->append_text(out);
    } else {
      append_text(out, c->Collect());
    }
  }
}

}  // namespace nodepack::metrics
