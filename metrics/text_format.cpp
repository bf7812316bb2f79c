#include "metrics/text_format.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string_view>

namespace nodepack::metrics {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

template <class Integer>
void append_integer(std::string& out, Integer value) {
  char buffer[24];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, end);
}

// A label value with \ and " escaped by a backslash and newline written \n, as the serializer does.
// Runs without any of the three (nearly every value) are appended whole. Scanned by hand:
// string_view::find_first_of calls memchr over the three for every character of the value, and
// that was a fifth of a scrape's CPU.
void append_escaped(std::string& out, std::string_view value) {
  std::size_t run = 0;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (c != '\\' && c != '"' && c != '\n') {
      continue;
    }
    out.append(value.data() + run, i - run);
    out += '\\';
    out += c == '\n' ? 'n' : c;
    run = i + 1;
  }
  out.append(value.data() + run, value.size() - run);
}

// As TextSerializer: NaN and infinities spelled out, else the shortest "%.16g" (the precision the
// serializer sets, max_digits10 - 1), in the C locale.
void append_value(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "Nan";
  } else if (std::isinf(value)) {
    out += value < 0 ? "-Inf" : "+Inf";
  } else if (value == std::trunc(value) && std::fabs(value) < 1e15 && (value != 0 || !std::signbit(value))) {
    // Whole numbers (counts, bytes, most counters) print the same through the integer path, which
    // is several times faster than the general one; "%.16g" writes them in full below 1e16.
    append_integer(out, static_cast<std::int64_t>(value));
  } else {
    char buffer[32];
    const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::general,
                                         std::numeric_limits<double>::max_digits10 - 1);
    out.append(buffer, end);
  }
}

struct Extra {
  std::string_view name;
  std::string_view text;  // when not empty, else `value`
  double value = 0;
};

void append_head(std::string& out, const MetricFamily& family, const ClientMetric& metric, std::string_view suffix = {},
                 const Extra* extra = nullptr) {
  out += family.name;
  out += suffix;
  if (!metric.label.empty() || extra != nullptr) {
    char separator = '{';
    for (const auto& label : metric.label) {
      append_label(out, separator, label.name, label.value);
      separator = ',';
    }
    if (extra != nullptr) {
      out += separator;
      out += extra->name;
      out += "=\"";
      if (extra->text.empty()) {
        append_value(out, extra->value);
      } else {
        out += extra->text;
      }
      out += '"';
    }
    out += '}';
  }
  out += ' ';
}

void append_tail(std::string& out, const ClientMetric& metric) {
  if (metric.timestamp_ms != 0) {
    out += ' ';
    append_integer(out, metric.timestamp_ms);
  }
  out += '\n';
}

void append_sample(std::string& out, const MetricFamily& family, const ClientMetric& metric, double value) {
  append_head(out, family, metric);
  append_value(out, value);
  append_tail(out, metric);
}

// A summary's or histogram's _count and _sum lines.
void append_count_and_sum(std::string& out, const MetricFamily& family, const ClientMetric& metric, std::uint64_t count,
                          double sum) {
  append_head(out, family, metric, "_count");
  append_integer(out, count);
  append_tail(out, metric);
  append_head(out, family, metric, "_sum");
  append_value(out, sum);
  append_tail(out, metric);
}

void append_summary(std::string& out, const MetricFamily& family, const ClientMetric& metric) {
  const auto& summary = metric.summary;
  append_count_and_sum(out, family, metric, summary.sample_count, summary.sample_sum);
  for (const auto& q : summary.quantile) {
    const Extra quantile{"quantile", {}, q.quantile};
    append_head(out, family, metric, {}, &quantile);
    append_value(out, q.value);
    append_tail(out, metric);
  }
}

void append_histogram(std::string& out, const MetricFamily& family, const ClientMetric& metric) {
  const auto& histogram = metric.histogram;
  append_count_and_sum(out, family, metric, histogram.sample_count, histogram.sample_sum);
  double last = -std::numeric_limits<double>::infinity();
  for (const auto& bucket : histogram.bucket) {
    const Extra le{"le", {}, bucket.upper_bound};
    append_head(out, family, metric, "_bucket", &le);
    last = bucket.upper_bound;
    append_integer(out, bucket.cumulative_count);
    append_tail(out, metric);
  }
  if (last != std::numeric_limits<double>::infinity()) {
    const Extra le{"le", "+Inf"};
    append_head(out, family, metric, "_bucket", &le);
    append_integer(out, histogram.sample_count);
    append_tail(out, metric);
  }
}

const char* type_name(MetricType type) {
  switch (type) {
    case MetricType::Counter:
      return "counter";
    case MetricType::Gauge:
      return "gauge";
    case MetricType::Summary:
      return "summary";
    case MetricType::Histogram:
      return "histogram";
    case MetricType::Untyped:
      break;
  }
  return "untyped";
}

}  // namespace

void append_family_header(std::string& out, std::string_view name, std::string_view help, MetricType type) {
  if (!help.empty()) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += '\n';
  }
  out += "# TYPE ";
  out += name;
  out += ' ';
  out += type_name(type);
  out += '\n';
}

void append_label(std::string& out, char separator, std::string_view name, std::string_view value) {
  out += separator;
  out += name;
  out += "=\"";
  append_escaped(out, value);
  out += '"';
}

void append_sample_value(std::string& out, double value) { append_value(out, value); }

void append_text(std::string& out, const std::vector<MetricFamily>& families) {
  for (const auto& family : families) {
    append_family_header(out, family.name, family.help, family.type);
    for (const auto& metric : family.metric) {
      switch (family.type) {
        case MetricType::Counter:
          append_sample(out, family, metric, metric.counter.value);
          break;
        case MetricType::Gauge:
          append_sample(out, family, metric, metric.gauge.value);
          break;
        case MetricType::Summary:
          append_summary(out, family, metric);
          break;
        case MetricType::Untyped:
          append_sample(out, family, metric, metric.untyped.value);
          break;
        case MetricType::Histogram:
          append_histogram(out, family, metric);
          break;
      }
    }
  }
}

}  // namespace nodepack::metrics
