#pragma once

// The one way nodepack builds metric families: at scrape time, from values it already holds, as
// node_exporter builds const metrics from a typedDesc. A Family fixes name, help and type once;
// add() puts one sample per label set. Agent, aggregator, numa and bpf all use it.
//
//   auto kills = metrics::Family::counter("kpod_mem_oom_kills_total", "OOM kill events");
//   kills.add({{"namespace", ns}, {"pod", pod}}, 3);
//   std::move(kills).into(out);

#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace nodepack::metrics {

using Label = prometheus::ClientMetric::Label;
using Labels = std::vector<Label>;

// One cumulative histogram bucket: samples <= upper_bound.
struct Bucket {
  double upper_bound;
  std::uint64_t cumulative_count;
};

class Family {
 public:
  static Family gauge(std::string name, std::string help);
  static Family counter(std::string name, std::string help);
  static Family histogram(std::string name, std::string help);

  // A gauge or counter sample, as the family's type says. On a temporary it chains:
  // Family::gauge(...).add({}, 1).into(out).
  Family& add(Labels labels, double value) &;
  Family&& add(Labels labels, double value) && { return std::move(add(std::move(labels), value)); }
  // A histogram sample. `buckets` are cumulative, in increasing bound order, and end at +Inf;
  // the +Inf bucket's count is the sample count.
  Family& add_histogram(Labels labels, const std::vector<Bucket>& buckets, double sum);

  // A copy of every sample under another name and help: an alias kept for another tool's users.
  Family renamed(std::string name, std::string help) const;

  const std::string& name() const { return family_.name; }
  const std::string& help() const { return family_.help; }
  prometheus::MetricType type() const { return family_.type; }
  bool empty() const { return family_.metric.empty(); }
  std::size_t size() const { return family_.metric.size(); }

  // Hands the family to a collector's result.
  void into(std::vector<prometheus::MetricFamily>& out) &&;
  prometheus::MetricFamily take() && { return std::move(family_); }

 private:
  Family(std::string name, std::string help, prometheus::MetricType type);
  prometheus::MetricFamily family_;
};

// Moves every family given into `out`, in order.
template <class... Families>
void emit(std::vector<prometheus::MetricFamily>& out, Families&&... families) {
  (std::move(families).into(out), ...);
}

}  // namespace nodepack::metrics
