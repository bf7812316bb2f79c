#include "aggregator/self_metrics.hpp"

namespace nodepack::aggregator {

SelfMetrics::SelfMetrics() : registry_(std::make_shared<prometheus::Registry>()) {
  pulls_ = &prometheus::BuildCounter()
                .Name("nodepack_aggregator_pulls_total")
                .Help("Report pulls attempted, successful or not.")
                .Register(*registry_)
                .Add({});
  auto& errors = prometheus::BuildCounter()
                     .Name("nodepack_aggregator_pull_errors_total")
                     .Help(
                         "Report pulls that produced no usable report, by reason (connect, timeout, transport, "
                         "http_status, not_synced, oversized, malformed, schema, wrong_node).")
                     .Register(*registry_);
  for (std::size_t i = 0; i < pull_error_count; ++i) {
    // Every reason exists from the start, at 0, so rate() and alerts see the first error.
    errors_[i] = &errors.Add({{"reason", std::string(pull_error_name(static_cast<PullError>(i)))}});
  }
  report_age_ =
      &prometheus::BuildHistogram()
           .Name("nodepack_aggregator_report_age_seconds")
           .Help("Age of each good report when it was pulled (pull time minus the report's built_at).")
           .Register(*registry_)
           .Add({}, prometheus::Histogram::BucketBoundaries{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60, 120, 300});
  round_duration_ =
      &prometheus::BuildHistogram()
           .Name("nodepack_aggregator_pull_round_duration_seconds")
           .Help("Time to pull every agent's report once.")
           .Register(*registry_)
           .Add({}, prometheus::Histogram::BucketBoundaries{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60});
  rounds_ = &prometheus::BuildCounter()
                 .Name("nodepack_aggregator_pull_rounds_total")
                 .Help("Completed pull rounds.")
                 .Register(*registry_)
                 .Add({});
  last_round_duration_ = &prometheus::BuildGauge()
                              .Name("nodepack_aggregator_last_pull_round_duration_seconds")
                              .Help("Duration of the last completed pull round.")
                              .Register(*registry_)
                              .Add({});
  agents_ = &prometheus::BuildGauge()
                 .Name("nodepack_aggregator_agents")
                 .Help("Agents pulled in the last round (one per tracked node with an agent, or --agents).")
                 .Register(*registry_)
                 .Add({});
  connections_ = &prometheus::BuildGauge()
                      .Name("nodepack_aggregator_agent_connections")
                      .Help("Connections to agents kept open between pull rounds.")
                      .Register(*registry_)
                      .Add({});
  snapshot_build_ = &prometheus::BuildGauge()
                         .Name("nodepack_aggregator_snapshot_build_duration_seconds")
                         .Help("Time the last snapshot took to build from the stored reports and nodes.")
                         .Register(*registry_)
                         .Add({});
}

void SelfMetrics::pull_ok(double report_age_seconds) {
  pulls_->Increment();
  report_age_->Observe(report_age_seconds < 0 ? 0 : report_age_seconds);
}

void SelfMetrics::pull_failed(PullError reason) {
  pulls_->Increment();
  errors_[static_cast<std::size_t>(reason)]->Increment();
}

void SelfMetrics::round_done(double seconds, std::size_t targets, std::size_t open_connections) {
  rounds_->Increment();
  round_duration_->Observe(seconds);
  last_round_duration_->Set(seconds);
  agents_->Set(static_cast<double>(targets));
  connections_->Set(static_cast<double>(open_connections));
}

void SelfMetrics::snapshot_built(double seconds) { snapshot_build_->Set(seconds); }

}  // namespace nodepack::aggregator
