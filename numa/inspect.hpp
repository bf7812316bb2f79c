#pragma once

namespace nodepack::numa {

// `inspect numa [--host-root DIR] [--kubelet-root DIR] [--node-name N] [--reserved-cpus LIST]
//               [--format json|prometheus]`
// Loads the topology and the kubelet's checkpoints once and prints what the agent would
// export. argv[0] is the command's own name. Returns 0, 1 when the topology cannot be read,
// 2 on bad flags.
int run_inspect_numa(int argc, char** argv);

}  // namespace nodepack::numa
