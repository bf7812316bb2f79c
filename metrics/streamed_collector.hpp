#pragma once

// A collector with many series (one per container and resource) that writes a scrape's text as
// it walks its state, without building prometheus-cpp's structs first. Built as ClientMetrics
// with their label strings, serialized, then freed, the agent's 1,300 accounting and container
// series were about half the CPU of a scrape on a full node scraped every second; written
// straight from views of the labels they cost a copy of the bytes.
//
// The collector's body is written once, against FamilyOutput, and serves both ways out: a scrape
// (MetricsRegistry::render, text) and Collect() (the prometheus families the tests and the JSON
// pages read). Both come from the same calls in the same order, and tests/metrics holds the
// text against append_text(Collect()).
//
//   void collect(metrics::FamilyOutput& out) const override {
//     auto& restarts = out.gauge("kpod_container_restarts", "Container restart count");
//     restarts.add({{"namespace", ns}, {"pod", pod}}, 3);
//   }

#include "metrics/family.hpp"

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <cstddef>
#include <deque>
#include <initializer_list>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nodepack::metrics {

// A label whose name and value outlive the call they are passed to.
struct LabelRef {
  std::string_view name;
  std::string_view value;
};

// Labels that several series share (a container's, on each of its families): in text they are
// escaped and written once, then copied into each series. Reused from one object to the next
// through FamilyOutput::set_labels, so its buffer is allocated once.
class LabelSet {
 private:
  friend class FamilyOutput;
  friend class FamilyStream;
  std::span<const LabelRef> refs_;
  std::string text_;  // name="value",... when the output is text
};

// One family of gauges or counters, written as text or built as a prometheus family.
class FamilyStream {
 public:
  FamilyStream& add(const LabelSet& labels, double value);
  // The set's labels and then `extra`.
  FamilyStream& add(const LabelSet& labels, LabelRef extra, double value);
  FamilyStream& add(std::span<const LabelRef> labels, double value);
  FamilyStream& add(std::initializer_list<LabelRef> labels, double value) {
    return add(std::span<const LabelRef>(labels.begin(), labels.size()), value);
  }
  bool empty() const { return samples_ == 0; }

  // Text output only, for lines a collector keeps because they will not change (a finished
  // container's final counters): where the next line starts, the lines written since, and
  // those lines written again as they are, `samples` of them.
  std::size_t text_size() const { return text_.size(); }
  std::size_t samples() const { return samples_; }
  std::string_view text_since(std::size_t start) const { return std::string_view(text_).substr(start); }
  void append_lines(std::string_view lines, std::size_t samples) {
    text_ += lines;
    samples_ += samples;
  }

 private:
  friend class FamilyOutput;
  FamilyStream(Family family, bool as_text) : family_(std::move(family)), as_text_(as_text) {}
  void add_structured(std::span<const LabelRef> labels, const LabelRef* extra, double value);
  // The line after the labels: "} value\n", or " value\n" when there were none.
  void end_line(bool had_labels, double value);

  Family family_;  // name, help and type always; samples only when not text
  bool as_text_;
  std::string text_;  // the sample lines, when text
  std::size_t samples_ = 0;
};

// The families of one collection, in the order they were created.
class FamilyOutput {
 public:
  // Appends the families' text to `out` when done. `buffers`, when given, holds the families'
  // text buffers of the last collection (by position, with their lines): each family writes into
  // the one at its position, sized from those lines, and finish() hands this collection's back.
  static FamilyOutput text(std::string& out, std::vector<std::string>* buffers = nullptr) {
    return FamilyOutput(&out, buffers);
  }
  static FamilyOutput families() { return FamilyOutput(nullptr, nullptr); }

  FamilyStream& gauge(std::string_view name, std::string_view help);
  FamilyStream& counter(std::string_view name, std::string_view help);
  // Points `set` at `labels` (which must outlive its use) and, for text, writes them.
  void set_labels(LabelSet& set, std::span<const LabelRef> labels) const;
  // Families without samples are left out (by default they are written with their HELP and TYPE,
  // as a Family handed to metrics::emit is).
  void omit_empty_families() { omit_empty_ = true; }
  // Whether this output writes text (a scrape) rather than building families.
  bool is_text() const { return text_ != nullptr; }

  // A text output: appends every family's text to the string given, and hands the families'
  // buffers back (one larger than max_spare_bytes is dropped, so a single huge scrape does not
  // stay resident). A families output: nothing.
  void finish();
  static constexpr std::size_t max_spare_bytes = 4u << 20;
  // A families output: hands them over, in order.
  std::vector<prometheus::MetricFamily> take_families() &&;

 private:
  FamilyOutput(std::string* text, std::vector<std::string>* buffers) : text_(text), buffers_(buffers) {}
  FamilyStream& add_family(Family family);

  std::string* text_;
  std::vector<std::string>* buffers_;
  std::deque<FamilyStream> families_;  // a deque: references handed out stay valid
  bool omit_empty_ = false;
};

class StreamedCollector : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const final;
  void append_text(std::string& out) const;

 protected:
  virtual void collect(FamilyOutput& out) const = 0;

 private:
  // Each family's text buffer from the last scrape: a family's lines are written into a
  // buffer of their own (the collector interleaves families). A fresh one grows by doubling from
  // empty, and the accounting families' hundreds of KiB, freed at the end of every scrape, were
  // given back to the system and faulted in again at the next (7 % of the agent's CPU at one
  // scrape a second): kept, they cost their size in memory between scrapes, and nothing at them.
  mutable std::mutex buffers_mutex_;
  mutable std::vector<std::string> spare_buffers_;
};

}  // namespace nodepack::metrics
