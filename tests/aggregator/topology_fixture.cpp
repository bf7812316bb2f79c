// An aggregator whose agents report a known connection topology, for the browser test of the
// topology page: four nodes with fake agents serving topology blocks (and n5 an older agent
// without one), pulled twice 10 s apart on a manual clock, so every edge has a known rate.
// Extra aggregator flags come from the command line (the test passes --auth.users-file).
// Prints "port=N" once the second pull has been merged, then serves until SIGTERM or SIGINT.
//
// The graph the page must draw (rates are the counter deltas over 10 s; totals the second pull):
//   web/frontend -> shop/cart :8080          10/s  (two pods: 100->160, 50->90), total 250
//   web/frontend -> service:shop/catalog :80 2.5/s, total 45
//   web/frontend -> external:203.0.113.0/24 :443  0.1/s, total 6
//   shop/cart -> shop/redis :6379            12/s, total 420
//   shop/cart -> shop/payments :8443         3/s, failures 0.5/s, totals 70 and 7
//   shop/payments -> external:198.51.100.0/24 :443  1/s, failures 0.4/s, totals 20 and 4
//   batch/importer -> shop/redis :6379       1/s, total 1010 (seen only by redis' agent: inbound)
//   monitoring/prometheus -> web/frontend, shop/cart, shop/payments :9090  0.2/s each, total 8
//   monitoring/prometheus -> overflow :0     0/s, total 3
// n2 also reports the frontend's connections to the cart as inbound: they must not count twice.

#include "tests/aggregator/fake_agent.hpp"
#include "tests/aggregator/fixture_aggregator.hpp"

using namespace nodepack;
using testing::TopologyEdgeSpec;
namespace json = boost::json;

namespace {

json::object node_json(const std::string& name) {
  return json::object{{"metadata", {{"name", name}}},
                      {"status", {{"allocatable", {{"cpu", "4"}, {"memory", "16Gi"}, {"pods", "110"}}}}}};
}

// Each node's edges at the first (second = false) or second pull.
std::vector<TopologyEdgeSpec> edges_of(const std::string& node, bool second) {
  const auto v = [&](std::uint64_t first, std::uint64_t then) { return second ? then : first; };
  if (node == "n1") {
    return {{"web", "frontend", "frontend-a", "outbound", "pod", "shop", "cart", 8080, v(100, 160), 0},
            {"web", "frontend", "frontend-b", "outbound", "pod", "shop", "cart", 8080, v(50, 90), 0},
            {"web", "frontend", "frontend-a", "outbound", "service", "shop", "catalog", 80, v(20, 45), 0},
            {"web", "frontend", "frontend-b", "outbound", "external", "", "203.0.113.0/24", 443, v(5, 6), 0}};
  }
  if (node == "n2") {
    return {{"shop", "cart", "cart-0", "inbound", "pod", "web", "frontend", 8080, v(150, 250), 0},
            {"shop", "cart", "cart-0", "outbound", "pod", "shop", "redis", 6379, v(300, 420), 0},
            {"shop", "cart", "cart-0", "outbound", "pod", "shop", "payments", 8443, v(40, 70), v(2, 7)}};
  }
  if (node == "n3") {
    return {{"shop", "redis", "redis-0", "inbound", "pod", "shop", "cart", 6379, v(300, 420), 0},
            {"shop", "redis", "redis-0", "inbound", "pod", "batch", "importer", 6379, v(1000, 1010), 0},
            {"shop", "payments", "payments-0", "outbound", "external", "", "198.51.100.0/24", 443, v(10, 20), v(0, 4)}};
  }
  return {{"monitoring", "prometheus", "prometheus-0", "outbound", "pod", "web", "frontend", 9090, v(6, 8), 0},
          {"monitoring", "prometheus", "prometheus-0", "outbound", "pod", "shop", "cart", 9090, v(6, 8), 0},
          {"monitoring", "prometheus", "prometheus-0", "outbound", "pod", "shop", "payments", 9090, v(6, 8), 0},
          {"monitoring", "prometheus", "prometheus-0", "outbound", "overflow", "", "", 0, v(3, 3), 0}};
}

}  // namespace

int main(int argc, char** argv) {
  StopSignals signals;  // before any thread starts

  ManualClock clock;
  sim::FakeApiServer api;
  if (!api.start()) {
    std::cerr << "topology fixture: fake API server did not start\n";
    return 1;
  }
  const std::vector<std::string> nodes{"n1", "n2", "n3", "n4", "n5"};
  std::vector<std::unique_ptr<testing::FakeAgent>> agents;
  std::string targets = "--agents=";
  const auto serve = [&](bool second) {
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      testing::ReportSpec spec{nodes[i], {{"cpu", "1"}}, {}, 3, 1, clock.now(), {}, 1};
      if (nodes[i] != "n5") {  // n5: an agent from before the topology block
        spec.topology = edges_of(nodes[i], second);
      }
      agents[i]->serve(spec);
    }
  };
  for (const auto& node : nodes) {
    api.upsert(sim::Kind::node, node_json(node));
    agents.push_back(std::make_unique<testing::FakeAgent>());
    targets += (targets.back() == '=' ? "" : ",") + node + "=127.0.0.1:" + std::to_string(agents.back()->port());
  }
  serve(false);
  std::vector<std::string> args{"--metrics-addr=127.0.0.1:0", "--pull-interval=100ms", targets, "--node-source=agents"};
  for (int i = 1; i < argc; ++i) {
    args.emplace_back(argv[i]);
  }
  // The first pull at t0. Then the new counters are served, and the clock moves only once a whole
  // round has fetched them: pulls at t0 teach nothing (no time passed), and no pull of the old
  // counters can then arrive at t0 + 10 s; the first one there gives the rates.
  return testing::serve_fixture_aggregator(
      "topology fixture", args, api, clock, signals, [&](aggregator::Aggregator& aggregator) -> std::string {
        const auto rounds_after = [&](std::uint64_t more) {
          const auto target = aggregator.rounds_completed() + more;
          return testing::wait_until([&] { return aggregator.rounds_completed() >= target; });
        };
        serve(true);
        if (!rounds_after(2)) {
          return "no pull of the new counters after 20s";
        }
        clock.advance(std::chrono::seconds(10));
        return rounds_after(2) ? "" : "no pull after the clock moved, after 20s";
      });
}
