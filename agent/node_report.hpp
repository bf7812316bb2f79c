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
#include <string>

namespace nodepack::agent {

boost::json::value build_node_report(const NodeState& state, bool synced, std::chrono::system_clock::time_point now,
                                     boost::json::array numa_zones);
boost::json::value resource_list_json(const kube::ResourceList& list);

// The report's entity tag: a hash of everything in it but `built_at`, quoted as HTTP wants it. The
// aggregator sends it back in If-None-Match and gets 304 while nothing changed, so a quiet node
// costs it no parse (the generation alone would miss NUMA and readiness changes).
std::string report_etag(const boost::json::value& report);

}  // namespace nodepack::agent
