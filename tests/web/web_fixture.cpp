// The real aggregator for the browser test of the web UI: a fake Kubernetes API server with no
// nodes and no agents, and the flags given on the command line (the test passes --prometheus-url
// and --auth.users-file, so the usage API, the authenticator and the /web routes are the
// production ones). Prints "port=N" once listening, then serves until SIGTERM or SIGINT.
//
//   web_fixture [AGGREGATOR FLAGS...]

#include "aggregator/aggregator.hpp"
#include "common/clock.hpp"
#include "common/stop_signals.hpp"
#include "sim/fake_api_server.hpp"

#include <iostream>

using namespace nodepack;

int main(int argc, char** argv) {
  StopSignals signals;  // before any thread starts

  sim::FakeApiServer api;
  if (!api.start()) {
    std::cerr << "web fixture: fake API server did not start\n";
    return 1;
  }
  std::vector<std::string> args{"--metrics-addr=127.0.0.1:0"};
  for (int i = 1; i < argc; ++i) {
    args.emplace_back(argv[i]);
  }
  auto options = aggregator::parse_aggregator_options(args);
  if (!options) {
    std::cerr << "web fixture: " << options.error().message << "\n";
    return 1;
  }
  kube::ClusterConfig cluster;
  cluster.server = api.url();
  aggregator::Aggregator aggregator(std::move(*options), cluster, SystemClock::instance());
  if (auto started = aggregator.start(); !started) {
    std::cerr << "web fixture: " << started.error().message << "\n";
    return 1;
  }
  std::cout << "port=" << aggregator.endpoint().port() << std::endl;
  signals.wait();
  aggregator.stop();
  return 0;
}
