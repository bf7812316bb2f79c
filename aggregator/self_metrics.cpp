#include "aggregator/self_metrics.hpp"

#include "metrics/family.hpp"

namespace nodepack::aggregator {

SelfMetrics::SelfMetrics()
    : report_age_({0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60, 120, 300}),
      round_duration_({0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}) {}

void SelfMetrics::pull_ok(double report_age_seconds) {
  ++pulls_;
  report_age_.observe(report_age_seconds < 0 ? 0 : report_age_seconds);
}

void SelfMetrics::pull_unchanged() {
  ++pulls_;
  ++unchanged_;
}

void SelfMetrics::pull_failed(PullError reason) {
  ++pulls_;
  ++errors_[static_cast<std::size_t>(reason)];
}

void SelfMetrics::round_done(double seconds, std::size_t targets, std::size_t open_connections) {
  ++rounds_;
  round_duration_.observe(seconds);
  last_round_duration_ = seconds;
  agents_ = static_cast<double>(targets);
  connections_ = static_cast<double>(open_connections);
}

void SelfMetrics::snapshot_built(double seconds) { snapshot_build_ = seconds; }

void SelfMetrics::topology_block(TopologyBlock outcome) { ++topology_blocks_[static_cast<std::size_t>(outcome)]; }

std::vector<prometheus::MetricFamily> SelfMetrics::Collect() const {
  using metrics::Family;
  std::vector<prometheus::MetricFamily> out;
  Family::counter("nodepack_aggregator_pulls_total", "Report pulls attempted, successful or not.")
      .add({}, static_cast<double>(pulls_.load()))
      .into(out);
  Family::counter("nodepack_aggregator_pulls_unchanged_total",
                  "Report pulls the agent answered 304 Not Modified (If-None-Match): nothing to parse.")
      .add({}, static_cast<double>(unchanged_.load()))
      .into(out);
  auto errors = Family::counter(
      "nodepack_aggregator_pull_errors_total",
      "Report pulls that produced no usable report, by reason (connect, timeout, transport, http_status, not_synced, "
      "oversized, malformed, schema, wrong_node).");
  for (std::size_t i = 0; i < pull_error_count; ++i) {
    // Every reason exists from the start, at 0, so rate() and alerts see the first error.
    errors.add({{"reason", std::string(pull_error_name(static_cast<PullError>(i)))}},
               static_cast<double>(errors_[i].load()));
  }
  std::move(errors).into(out);
  auto blocks = Family::counter("nodepack_aggregator_topology_blocks_total",
                                "Good reports by their topology block: ok, absent (an older agent or its topology "
                                "collector off), invalid (the block is ignored, the rest of the report used).");
  const char* block_outcomes[] = {"ok", "absent", "invalid"};
  for (std::size_t i = 0; i < topology_blocks_.size(); ++i) {
    blocks.add({{"result", block_outcomes[i]}}, static_cast<double>(topology_blocks_[i].load()));
  }
  std::move(blocks).into(out);
  auto report_age =
      Family::histogram("nodepack_aggregator_report_age_seconds",
                        "Age of each good report when it was pulled (pull time minus the report's built_at).");
  report_age.add_histogram({}, report_age_.buckets(), report_age_.sum());
  auto round_duration =
      Family::histogram("nodepack_aggregator_pull_round_duration_seconds", "Time to pull every agent's report once.");
  round_duration.add_histogram({}, round_duration_.buckets(), round_duration_.sum());
  metrics::emit(out, report_age, round_duration);
  Family::counter("nodepack_aggregator_pull_rounds_total", "Completed pull rounds.")
      .add({}, static_cast<double>(rounds_.load()))
      .into(out);
  Family::gauge("nodepack_aggregator_last_pull_round_duration_seconds", "Duration of the last completed pull round.")
      .add({}, last_round_duration_.load())
      .into(out);
  Family::gauge("nodepack_aggregator_agents",
                "Agents pulled in the last round (one per tracked node with an agent, or --agents).")
      .add({}, agents_.load())
      .into(out);
  Family::gauge("nodepack_aggregator_agent_connections", "Connections to agents kept open between pull rounds.")
      .add({}, connections_.load())
      .into(out);
  Family::gauge("nodepack_aggregator_snapshot_build_duration_seconds",
                "Time the last snapshot took to build from the stored reports and nodes.")
      .add({}, snapshot_build_.load())
      .into(out);
  return out;
}

}  // namespace nodepack::aggregator
