#pragma once

// The node report the aggregator pulls from /report. Quantities are Kubernetes quantity strings so
// the aggregator sums them exactly; `generation` grows with every change the agent sees.
//
// {"schema_version":1,"node":"n","labels":{...},"allocatable":{"cpu":"3920m",...},
//  "allocated":{...,"pods":"12"},"daemonset_allocated":{...},"pod_count":12,
//  "daemonset_pod_count":1,"numa_zones":[],"synced":true,"generation":42,
//  "built_at":"2026-11-25T05:00:00Z"}

#include "agent/node_state.hpp"

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include <chrono>

namespace nodepack::agent {

boost::json::value build_node_report(const NodeState& state, bool synced, std::chrono::system_clock::time_point now,
                                     boost::json::array numa_zones);
boost::json::value resource_list_json(const kube::ResourceList& list);

}  // namespace nodepack::agent
