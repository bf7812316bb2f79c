// An aggregator over a small fixed cluster, for the browser test of the web page: the fake API
// server holds four Nodes, three fake agents serve reports (n4 has none), the clock stands still.
// Prints "port=N" once /readyz answers, then serves until SIGTERM or SIGINT.
//
// Values the page must show (worked out in test_snapshot.cpp): cluster cpu 10.5 of 15.92 cores
// = 66.0%, memory 16Gi of 63Gi = 25.4%; node n2 cpu 7 of 8 = 87.5%; zone a cpu 9.5 of 12 = 79.2%.

#include "tests/aggregator/fake_agent.hpp"
#include "tests/aggregator/fixture_aggregator.hpp"

#include <iostream>

using namespace nodepack;
namespace json = boost::json;

namespace {

json::object node_json(const std::string& name, const std::string& zone, const std::string& cpu,
                       const std::string& memory, const std::string& pods) {
  return json::object{{"metadata", {{"name", name}, {"labels", {{"topology.kubernetes.io/zone", zone}}}}},
                      {"status", {{"allocatable", {{"cpu", cpu}, {"memory", memory}, {"pods", pods}}}}}};
}

}  // namespace

int main() {
  StopSignals signals;  // before any thread starts

  ManualClock clock;
  sim::FakeApiServer api;
  if (!api.start()) {
    std::cerr << "page fixture: fake API server did not start\n";
    return 1;
  }
  api.upsert(sim::Kind::node, node_json("n1", "zone-a", "4", "16Gi", "110"));
  api.upsert(sim::Kind::node, node_json("n2", "zone-a", "8", "32Gi", "110"));
  api.upsert(sim::Kind::node, node_json("n3", "zone-b", "3920m", "15Gi", "4"));
  api.upsert(sim::Kind::node, node_json("n4", "zone-b", "2", "8Gi", "110"));
  const std::map<std::string, std::string> ds{{"cpu", "100m"}, {"memory", "128Mi"}};
  const std::vector<testing::ReportSpec> reports{
      {"n1", {{"cpu", "2500m"}, {"memory", "6Gi"}}, ds, 10, 1, clock.now(), {}, 1},
      {"n2", {{"cpu", "7"}, {"memory", "8Gi"}}, ds, 20, 1, clock.now(), {}, 1},
      {"n3", {{"cpu", "1"}, {"memory", "2Gi"}}, ds, 3, 1, clock.now(), {}, 1}};
  std::vector<std::unique_ptr<testing::FakeAgent>> agents;
  std::string targets = "--agents=";
  for (const auto& spec : reports) {
    agents.push_back(std::make_unique<testing::FakeAgent>());
    agents.back()->serve(spec);
    targets += (targets.back() == '=' ? "" : ",") + spec.node + "=127.0.0.1:" + std::to_string(agents.back()->port());
  }
  return testing::serve_fixture_aggregator(
      "page fixture",
      {"--metrics-addr=127.0.0.1:0", "--pull-interval=200ms", "--label-group=topology.kubernetes.io/zone",
       "--fit-shape=small=cpu:500m,memory:1Gi", targets,
       // n4 stays "missing" (no agent) for the page to show
       "--node-source=agents"},
      api, clock, signals);
}
