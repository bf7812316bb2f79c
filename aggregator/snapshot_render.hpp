#pragma once

// What a snapshot looks like from outside: the kube_binpacking_* exposition (KBE's names and
// HELP texts, plus fit, stranded and pending demand), the JSON the web page draws, and the
// freshness lists /sync names. Each is computed once per snapshot and cached by the caller.

#include "aggregator/snapshot.hpp"

#include <boost/json/object.hpp>

#include <string>
#include <vector>

namespace nodepack::aggregator {

// Prometheus text exposition of everything the snapshot holds.
std::string render_snapshot_metrics(const Snapshot& snapshot);

// For /api/snapshot: cluster, groups, nodes (values in exporter units), freshness and pending.
boost::json::object snapshot_json(const Snapshot& snapshot);
// The same document serialized, with a final newline, written node by node: it never holds the
// whole tree (at 65,000 nodes 100 MB of JSON values for a 40 MB text).
std::string snapshot_json_text(const Snapshot& snapshot);

// For /sync: {"fresh":[names...],"stale":[...],"missing":[...],"invalid":[...]} and, for every
// node that is not fresh, {"node","state","reason"}.
boost::json::object freshness_lists(const Snapshot& snapshot);
boost::json::array freshness_problems(const Snapshot& snapshot);
// For /sync: {"agent":[names...],"api":[...],"none":[...]}: where each node's figures come from.
boost::json::object source_lists(const Snapshot& snapshot);

}  // namespace nodepack::aggregator
