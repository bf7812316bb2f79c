#pragma once

// The part of /sync every mode serves, written once so the agent and the aggregator cannot
// drift: each watch's state, the last word from the API server, the resync period.

#include "kube/reflector.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <vector>

namespace nodepack::kube {

// {last_sync, sync_age_seconds, resync_period, node_synced, pod_synced, watches: [...]}.
// last_sync is the oldest last_activity among the watches (null until each has heard from the
// API server once); node_synced is the "nodes" watch's, pod_synced whether every other is synced.
// The mode adds its own fields (ready, node, pull rounds, ...).
boost::json::object sync_json(const std::vector<ReflectorStatus>& watches, double sync_age_seconds,
                              std::chrono::nanoseconds resync_period);

// A watch's status as /sync shows it.
boost::json::object watch_json(const ReflectorStatus& status);

}  // namespace nodepack::kube
