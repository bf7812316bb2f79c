#pragma once

// The Prometheus text format of metric families, byte for byte what prometheus-cpp's
// TextSerializer writes, without its iostream: /metrics is rendered at every scrape, and an
// agent's 2,000 series through an ostringstream (a locale-aware insert and a printf per value)
// were most of its CPU time on a busy node scraped every second. tests/metrics holds the two
// against each other.

#include <prometheus/metric_family.h>

#include <string>
#include <string_view>
#include <vector>

namespace nodepack::metrics {

// Appends the families to `out`.
void append_text(std::string& out, const std::vector<prometheus::MetricFamily>& families);

// The pieces, for writers that do not build prometheus' structs (metrics/streamed_collector.hpp).
// A family's "# HELP" (when there is help) and "# TYPE" lines.
void append_family_header(std::string& out, std::string_view name, std::string_view help, prometheus::MetricType type);
// `separator` (',' or '{'), then name="value" with the value escaped.
void append_label(std::string& out, char separator, std::string_view name, std::string_view value);
// A sample's value.
void append_sample_value(std::string& out, double value);

}  // namespace nodepack::metrics
