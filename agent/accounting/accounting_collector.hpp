#pragma once

// nodepack_container_* accounting series and the nodepack_accounting_* status of this agent,
// built at every scrape from the integrator (which integrates everyone up to the scrape first).

#include "agent/accounting/finished_lines.hpp"
#include "metrics/streamed_collector.hpp"

#include <mutex>

namespace nodepack::agent::accounting {

class AccountingSource;

// Written straight as text at a scrape (metrics/streamed_collector.hpp): with a series per
// container and resource, these are most of a full node's series.
class AccountingCollector final : public metrics::StreamedCollector {
 public:
  explicit AccountingCollector(AccountingSource& source) : source_(source) {}

 protected:
  void collect(metrics::FamilyOutput& out) const override;

 private:
  AccountingSource& source_;
  // Finished containers' integrals as the last scrape wrote them (text scrapes only).
  mutable std::mutex finished_mutex_;
  mutable FinishedLines finished_;
};

}  // namespace nodepack::agent::accounting
