#pragma once

// Prometheus text exposition (format 0.0.4) written straight into a string. The snapshot has
// tens of thousands of series at 5,000 nodes; building prometheus-cpp MetricFamily objects and
// running TextSerializer over them costs over 100 ms there, this costs a fraction of it.

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace nodepack::aggregator {

using LabelPair = std::pair<std::string_view, std::string_view>;

class ExpositionWriter {
 public:
  explicit ExpositionWriter(std::string& out) : out_(out) {}

  // Starts a family: # HELP and # TYPE lines. Samples of the family must follow directly.
  void family(std::string_view name, std::string_view help, std::string_view type = "gauge");
  void sample(std::string_view name, std::initializer_list<LabelPair> labels, double value);
  // For callers that build the label list incrementally.
  void sample(std::string_view name, const LabelPair* labels, std::size_t count, double value);

 private:
  void value(double v);
  std::string& out_;
};

}  // namespace nodepack::aggregator
