#pragma once

#include "numa/numa_state.hpp"

#include <iosfwd>

namespace nodepack::numa {

// `inspect numa [--host-root DIR] [--kubelet-root DIR] [--node-name N] [--reserved-cpus LIST]
//               [--format json|prometheus]`
// Loads the topology and the kubelet's checkpoints once and prints what the agent would
// export. argv[0] is the command's own name. Returns 0, 1 when the topology cannot be read,
// 2 on bad flags.
int run_inspect_numa(int argc, char** argv);

// Loads once and prints what the agent would export (Prometheus text, or the JSON of /debug/numa
// and the report's zones) to `out`. Returns 0, or 1 when the topology cannot be read (said on
// stderr). `nodepack agent -M` uses it as numainfo_exporter's --dump-metrics did.
int print_numa_once(const NumaOptions& options, bool json, std::ostream& out);

}  // namespace nodepack::numa
