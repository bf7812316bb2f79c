#pragma once

// The aggregator's web page: cluster and label-group utilization, a bar per node (DaemonSet
// overhead, other allocated, free) with its report's freshness, redrawn in place from
// /api/snapshot. One self-contained document: inline CSS and script, no external assets, so it
// works from an air-gapped cluster and through `kubectl port-forward`.

#include "aggregator/aggregator_options.hpp"

#include <string>

namespace nodepack::aggregator {

std::string index_page_html(const AggregatorOptions& options);

}  // namespace nodepack::aggregator
