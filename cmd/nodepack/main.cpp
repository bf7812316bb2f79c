// nodepack: one binary, several modes. Each mode lives in its own module; this file only picks one.

#include "agent/agent.hpp"
#include "aggregator/aggregator.hpp"
#include "metrics/build_info.hpp"
#include "numa/inspect.hpp"

#include <iostream>
#include <string>
#include <vector>

namespace {

constexpr const char* usage =
    "Usage: nodepack <mode> [flags]\n"
    "\n"
    "Modes:\n"
    "  agent        run on a node: binpacking, NUMA and kernel metrics for that node\n"
    "  aggregator   pull every agent's report: cluster and node-group binpacking, fit, web page\n"
    "  inspect numa print once what the agent would export for NUMA, and exit\n"
    "  version      print the version\n"
    "\n"
    "Run 'nodepack <mode> --help' for the flags of a mode.\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << usage;
    return 2;
  }
  const std::string mode = argv[1];
  const std::vector<std::string> args(argv + 2, argv + argc);
  if (mode == "agent") {
    return nodepack::agent::run_agent(args);
  }
  if (mode == "aggregator") {
    return nodepack::aggregator::run_aggregator(args);
  }
  if (mode == "inspect") {
    if (argc < 3 || std::string(argv[2]) != "numa") {
      std::cerr << "Usage: nodepack inspect numa [--host-root DIR] [--kubelet-root DIR] [--format json|prometheus]\n";
      return 2;
    }
    return nodepack::numa::run_inspect_numa(argc - 2, argv + 2);
  }
  if (mode == "version" || mode == "--version") {
    std::cout << "nodepack " << nodepack::metrics::nodepack_version() << " (" << nodepack::metrics::nodepack_revision()
              << ", " << nodepack::metrics::compiler_version() << ")\n";
    return 0;
  }
  if (mode == "-h" || mode == "--help" || mode == "help") {
    std::cout << usage;
    return 0;
  }
  std::cerr << "nodepack: unknown mode \"" << mode << "\"\n" << usage;
  return 2;
}
