// Stand-alone `inspect numa` until the agent's command line wires it in.
#include "numa/inspect.hpp"

int main(int argc, char** argv) { return nodepack::numa::run_inspect_numa(argc, argv); }
