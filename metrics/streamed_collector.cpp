#include "metrics/streamed_collector.hpp"

#include "metrics/text_format.hpp"

#include <utility>

namespace nodepack::metrics {

FamilyStream& FamilyStream::add(std::span<const LabelRef> labels, double value) {
  ++samples_;
  if (!as_text_) {
    add_structured(labels, nullptr, value);
    return *this;
  }
  // What append_text writes for a sample with these labels and no timestamp.
  text_ += family_.name();
  char separator = '{';
  for (const auto& label : labels) {
    append_label(text_, separator, label.name, label.value);
    separator = ',';
  }
  end_line(!labels.empty(), value);
  return *this;
}

FamilyStream& FamilyStream::add(const LabelSet& labels, double value) {
  if (!as_text_) {
    return add(labels.refs_, value);
  }
  ++samples_;
  text_ += family_.name();
  if (!labels.refs_.empty()) {
    text_ += '{';
    text_ += labels.text_;
  }
  end_line(!labels.refs_.empty(), value);
  return *this;
}

FamilyStream& FamilyStream::add(const LabelSet& labels, LabelRef extra, double value) {
  ++samples_;
  if (!as_text_) {
    add_structured(labels.refs_, &extra, value);
    return *this;
  }
  text_ += family_.name();
  if (!labels.refs_.empty()) {
    text_ += '{';
    text_ += labels.text_;
  }
  append_label(text_, labels.refs_.empty() ? '{' : ',', extra.name, extra.value);
  end_line(true, value);
  return *this;
}

void FamilyStream::end_line(bool had_labels, double value) {
  text_ += had_labels ? "} " : " ";
  append_sample_value(text_, value);
  text_ += '\n';
}

void FamilyStream::add_structured(std::span<const LabelRef> labels, const LabelRef* extra, double value) {
  Labels copied;
  copied.reserve(labels.size() + (extra != nullptr ? 1 : 0));
  for (const auto& label : labels) {
    copied.push_back({std::string(label.name), std::string(label.value)});
  }
  if (extra != nullptr) {
    copied.push_back({std::string(extra->name), std::string(extra->value)});
  }
  family_.add(std::move(copied), value);
}

void FamilyOutput::set_labels(LabelSet& set, std::span<const LabelRef> labels) const {
  set.refs_ = labels;
  set.text_.clear();
  if (text_ == nullptr) {
    return;
  }
  // Written as FamilyStream::add writes them, without the opening brace.
  for (const auto& label : labels) {
    append_label(set.text_, ',', label.name, label.value);
  }
  if (!set.text_.empty()) {
    set.text_.erase(0, 1);
  }
}

FamilyStream& FamilyOutput::gauge(std::string_view name, std::string_view help) {
  return add_family(Family::gauge(std::string(name), std::string(help)));
}

FamilyStream& FamilyOutput::counter(std::string_view name, std::string_view help) {
  return add_family(Family::counter(std::string(name), std::string(help)));
}

FamilyStream& FamilyOutput::add_family(Family family) {
  const std::size_t index = families_.size();
  // A deque's push_back keeps references to the other elements valid.
  auto& stream = families_.emplace_back(FamilyStream(std::move(family), text_ != nullptr));
  if (buffers_ != nullptr && index < buffers_->size()) {
    stream.text_ = std::move((*buffers_)[index]);
    // It still holds the last collection's lines: room for as many again and an eighth, made in
    // one allocation when it has less (growing as lines arrive would double it, and reserve()
    // on a string that has capacity doubles too), or when it has more than twice that (a family
    // that shrank gives its memory back).
    const std::size_t wanted = stream.text_.size() + stream.text_.size() / 8 + 64;
    stream.text_.clear();
    if (stream.text_.capacity() < wanted || stream.text_.capacity() > 2 * wanted + 4096) {
      std::string fresh;
      fresh.reserve(wanted);
      stream.text_ = std::move(fresh);
    }
  }
  return stream;
}

void FamilyOutput::finish() {
  if (text_ == nullptr) {
    return;
  }
  if (buffers_ != nullptr) {
    buffers_->clear();
  }
  for (auto& f : families_) {
    if (!(omit_empty_ && f.empty())) {
      append_family_header(*text_, f.family_.name(), f.family_.help(), f.family_.type());
      *text_ += f.text_;
    }
    if (buffers_ != nullptr) {
      buffers_->push_back(f.text_.capacity() <= max_spare_bytes ? std::move(f.text_) : std::string());
    }
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
  // Taken, not shared: a scrape running at the same time on another thread starts from empty
  // buffers, and whichever finishes last leaves its own for the next.
  std::vector<std::string> buffers;
  {
    const std::lock_guard lock(buffers_mutex_);
    buffers.swap(spare_buffers_);
  }
  auto out = FamilyOutput::text(text, &buffers);
  collect(out);
  out.finish();
  const std::lock_guard lock(buffers_mutex_);
  spare_buffers_ = std::move(buffers);
}

}  // namespace nodepack::metrics
