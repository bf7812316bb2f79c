#pragma once

// JSON views of a NUMA snapshot: /debug/numa, and the NUMA zones of the agent's node report.

#include "numa/numa_state.hpp"

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

namespace nodepack::numa {

// Topology, each checkpoint file's state and why, the per-node allocation, per-container
// placement (orphans included).
boost::json::value numa_debug_json(const NumaSnapshot& snapshot);

// [{"id": 0, "name": "node00", "resources": {"cpu": {"capacity", "allocatable", "allocation"},
//   "memory": {...}, "hugepages-2Mi": {...}, "<device resource>": {"allocation"}}}], amounts in
// cores, bytes or devices.
boost::json::array numa_zones_json(const NumaSnapshot& snapshot);

}  // namespace nodepack::numa
