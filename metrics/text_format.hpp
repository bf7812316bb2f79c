#pragma once

// The Prometheus text format of metric families, byte for byte what prometheus-cpp's
// TextSerializer writes, without its iostream: /metrics is rendered at every scrape, and an
// agent's 2,000 series through an ostringstream (a locale-aware insert and a printf per value)
// were most of its CPU time on a busy node scraped every second. tests/metrics holds the two
// against each other.

#include <prometheus/metric_family.h>

#include <string>
#include <vector>

namespace nodepack::metrics {

// Appends the families to `out`.
void append_text(std::string& out, const std::vector<prometheus::MetricFamily>& families);

}  // namespace nodepack::metrics
