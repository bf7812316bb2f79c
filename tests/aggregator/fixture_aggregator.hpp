#pragma once

// The browser-test fixtures' common part: the real aggregator over a fake API server, started
// with the given flags, waited on until ready (and until `prepare` has done its part), announced
// as "port=N" on stdout, then served until SIGTERM or SIGINT.

#include "aggregator/aggregator.hpp"
#include "common/clock.hpp"
#include "common/stop_signals.hpp"
#include "sim/fake_api_server.hpp"

#include <chrono>
#include <functional>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

namespace nodepack::testing {

// Polls `done` every 10 ms for up to 20 s.
inline bool wait_until(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // poll interval
  }
  return true;
}

// `prepare` runs once the aggregator is ready; it returns an error message, or "" to go on.
inline int serve_fixture_aggregator(const std::string& name, const std::vector<std::string>& args,
                                    const sim::FakeApiServer& api, const Clock& clock, StopSignals& signals,
                                    const std::function<std::string(aggregator::Aggregator&)>& prepare = {}) {
  auto options = aggregator::parse_aggregator_options(args);
  if (!options) {
    std::cerr << name << ": " << options.error().message << "\n";
    return 1;
  }
  kube::ClusterConfig cluster;
  cluster.server = api.url();
  aggregator::AggregatorTuning tuning;
  tuning.snapshot_debounce = std::chrono::milliseconds(10);
  aggregator::Aggregator aggregator(std::move(*options), cluster, clock, tuning);
  if (auto started = aggregator.start(); !started) {
    std::cerr << name << ": " << started.error().message << "\n";
    return 1;
  }
  if (!wait_until([&] { return aggregator.ready(); })) {
    std::cerr << name << ": aggregator not ready after 20s\n";
    return 1;
  }
  if (prepare) {
    if (const std::string error = prepare(aggregator); !error.empty()) {
      std::cerr << name << ": " << error << "\n";
      return 1;
    }
  }
  std::cout << "port=" << aggregator.endpoint().port() << std::endl;
  signals.wait();
  aggregator.stop();
  return 0;
}

}  // namespace nodepack::testing
