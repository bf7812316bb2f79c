#pragma once

// nodepack_container_* accounting series and the nodepack_accounting_* status of this agent,
// built at every scrape from the integrator (which integrates everyone up to the scrape first).

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <vector>

namespace nodepack::agent::accounting {

class AccountingSource;

class AccountingCollector final : public prometheus::Collectable {
 public:
  explicit AccountingCollector(AccountingSource& source) : source_(source) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  AccountingSource& source_;
};

}  // namespace nodepack::agent::accounting
