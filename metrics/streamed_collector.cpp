#include "metrics/streamed_collector.hpp"

#include "metrics/text_format.hpp"

#include <utility>

namespace nodepack::metrics {

FamilyStream& FamilyStream::add(std::span<const LabelRef> labels, double value) {
  ++samples_;
  if (!as_text_) {
    Labels copied;
    copied.reserve(labels.size());
    for (const auto& label : labels) {
      copied.push_back({std::string(label.name), std::string(label.value)});
    }
    family_.add(std::move(copied), value);
    return *this;
  }
  // What append_text writes for a sample with these labels and no timestamp.
  text_ += family_.name();
  if (!labels.empty()) {
    char separator = '{';
    for (const auto& label : labels) {
      append_label(text_, separator, label.name, label.value);
      separator = ',';
    }
    text_ += '}';
  }
  text_ += ' ';
  append_sample_value(text_, value);
  text_ += '\n';
  return *this;
}

FamilyStream& FamilyOutput::gauge(std::string_view name, std::string_view help) {
  return add_family(Family::gauge(std::string(name), std::string(help)));
}

FamilyStream& FamilyOutput::counter(std::string_view name, std::string_view help) {
  return add_family(Family::counter(std::string(name), std::string(help)));
}

FamilyStream& FamilyOutput::add_family(Family family) {
  // A deque's push_back keeps references to the other elements valid.
  families_.push_back(FamilyStream(std::move(family), text_ != nullptr));
  return families_.back();
}

void FamilyOutput::finish() {
  if (text_ == nullptr) {
    return;
  }
  for (const auto& f : families_) {
    if (omit_empty_ && f.empty()) {
      continue;
    }
    append_family_header(*text_, f.family_.name(), f.family_.help(), f.family_.type());
    *text_ += f.text_;
  }
  families_.clear();
}

std::vector<prometheus::MetricFamily> FamilyOutput::take_families() && {
  std::vector<prometheus::MetricFamily> out;
  for (auto& f : families_) {
    if (!(omit_empty_ && f.empty())) {
      std::move(f.family_).into(out);
    }
  }
  families_.clear();
  return out;
}

std::vector<prometheus::MetricFamily> StreamedCollector::Collect() const {
  auto out = FamilyOutput::families();
  collect(out);
  return std::move(out).take_families();
}

void StreamedCollector::append_text(std::string& text) const {
  auto out = FamilyOutput::text(text);
  collect(out);
  out.finish();
}

}  // namespace nodepack::metrics
