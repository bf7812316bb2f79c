#pragma once

// What /metrics serves: collectables asked at every scrape, serialized in the text format
// (metrics/text_format.hpp, what prometheus-cpp's TextSerializer writes). A registry is itself a collectable, so parts
// can be grouped.

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace nodepack::metrics {

class MetricsRegistry final : public prometheus::Collectable {
 public:
  void add(std::shared_ptr<prometheus::Collectable> collectable) { collectables_.push_back(std::move(collectable)); }
  // A collectable owned elsewhere that outlives every scrape.
  void add_unowned(prometheus::Collectable& collectable);
  std::vector<prometheus::MetricFamily> Collect() const override;
  // The text of every family, one collectable at a time: a collectable's families are freed as
  // soon as they are written, so a scrape holds the text and the largest collectable's families
  // at once rather than every family of the node (the same bytes as append_text(Collect())).
  // It writes into the buffer last given to recycle(), if any.
  std::string render() const;
  // Takes back a buffer render() returned, once its text has been sent, for the next render: a
  // scrape's text is hundreds of KiB, above malloc's mmap threshold (common/heap_policy), so a
  // fresh buffer is pages mapped, faulted in and unmapped again at every scrape. One buffer of
  // at most max_spare_bytes is kept.
  void recycle(std::string&& buffer) const;
  static constexpr std::size_t max_spare_bytes = 16u << 20;

 private:
  void append_to(std::string& out) const;

  std::vector<std::shared_ptr<prometheus::Collectable>> collectables_;
  // The last render's size, to size the next one's buffer in one allocation. Scrapes may render
  // on several threads; a registry is still copied and moved as a value.
  struct SizeHint {
    mutable std::atomic<std::size_t> bytes{0};
    SizeHint() = default;
    SizeHint(const SizeHint& other) : bytes(other.bytes.load()) {}
    SizeHint& operator=(const SizeHint& other) {
      bytes.store(other.bytes.load());
      return *this;
    }
  };
  SizeHint last_render_;
  // The buffer recycle() keeps; a copy of the registry starts without one.
  struct Spare {
    mutable std::mutex mutex;
    mutable std::string buffer;
    Spare() = default;
    Spare(const Spare&) {}
    Spare& operator=(const Spare&) { return *this; }
  };
  Spare spare_;
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
