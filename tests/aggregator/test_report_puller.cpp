// The puller: pacing (with a spread, a round's pulls start no earlier than their even share of it;
// a timer never fires early, so these are lower bounds and hold on a busy machine), every agent
// pulled exactly once per round, and the pool of idle connections kept between rounds.

#include "aggregator/report_puller.hpp"
#include "tests/aggregator/fake_agent.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace nodepack::aggregator {
namespace {

using std::chrono::milliseconds;
using testing::FakeAgent;
using testing::ReportSpec;
using steady = std::chrono::steady_clock;

struct Agents {
  std::vector<std::unique_ptr<FakeAgent>> agents;
  std::vector<AgentTarget> targets;

  explicit Agents(int count) {
    for (int i = 0; i < count; ++i) {
      const std::string node = "n" + std::to_string(i);
      agents.push_back(std::make_unique<FakeAgent>());
      agents.back()->serve(ReportSpec{node, {{"cpu", "1"}}, {}, 1, 0, std::chrono::system_clock::now(), {}, 1});
      targets.push_back(AgentTarget{node, "127.0.0.1", std::to_string(agents.back()->port()), ""});
    }
  }
};

// Runs one round on `io` (the puller's kept connections live on it, so one per test) and returns,
// in delivery order, each delivered node with its delay since the round started.
std::vector<std::pair<std::string, milliseconds>> run_round(boost::asio::io_context& io, ReportPuller& puller,
                                                            std::vector<AgentTarget> targets,
                                                            std::chrono::nanoseconds spread) {
  io.restart();
  std::vector<std::pair<std::string, milliseconds>> delivered;
  const auto start = steady::now();
  auto done = boost::asio::co_spawn(
      io,
      puller.round(
          std::move(targets),
          [&](const AgentTarget& target, PullResult<Pulled> result) {
            CHECK(result.has_value());
            delivered.emplace_back(target.node, std::chrono::duration_cast<milliseconds>(steady::now() - start));
          },
          "", spread),
      boost::asio::use_future);
  io.run();
  done.get();
  return delivered;
}

}  // namespace

TEST_CASE("a spread round releases its pulls a batch (the concurrency) at a time, each agent once") {
  Agents agents(5);
  boost::asio::io_context io;
  // Two at a time: pulls 0 and 1 may start at once, 2 and 3 at 2/5 of the spread, 4 at 4/5. The
  // k-th delivery means k + 1 pulls had started, so it comes no earlier than pull k's release.
  ReportPuller puller(PullerOptions{milliseconds(5000), 2, 1 << 20, 16});
  const auto spread = milliseconds(500);
  const std::array<milliseconds, 5> release{milliseconds(0), milliseconds(0), milliseconds(200), milliseconds(200),
                                            milliseconds(400)};
  const auto delivered = run_round(io, puller, agents.targets, spread);
  REQUIRE(delivered.size() == 5);
  std::set<std::string> nodes;
  for (std::size_t k = 0; k < delivered.size(); ++k) {
    INFO("delivery " << k << " of node " << delivered[k].first << " after " << delivered[k].second.count() << " ms");
    nodes.insert(delivered[k].first);
    CHECK(delivered[k].second >= release[k]);
  }
  CHECK(nodes.size() == 5);
  for (const auto& agent : agents.agents) {
    CHECK(agent->requests() == 1);
  }
}

TEST_CASE("the place of an agent in the spread does not depend on the order discovery lists it") {
  Agents agents(6);
  boost::asio::io_context io;
  ReportPuller puller(PullerOptions{milliseconds(5000), 1, 1 << 20, 16});
  const auto forward = run_round(io, puller, agents.targets, milliseconds(300));
  auto reversed_targets = agents.targets;
  std::reverse(reversed_targets.begin(), reversed_targets.end());
  const auto reversed = run_round(io, puller, reversed_targets, milliseconds(300));
  REQUIRE(forward.size() == 6);
  REQUIRE(reversed.size() == 6);
  for (std::size_t k = 0; k < forward.size(); ++k) {
    CHECK(forward[k].first == reversed[k].first);
  }
}

TEST_CASE("connections beyond the idle pool are used once; those within it are reused next round") {
  Agents agents(5);
  boost::asio::io_context io;
  // One pull at a time, so which connections fit in the pool of two is known: the first two.
  ReportPuller puller(PullerOptions{milliseconds(5000), 1, 1 << 20, 2});
  REQUIRE(run_round(io, puller, agents.targets, {}).size() == 5);
  CHECK(puller.open_connections() == 2);
  REQUIRE(run_round(io, puller, agents.targets, {}).size() == 5);
  CHECK(puller.open_connections() == 2);
  CHECK(puller.connections_opened() == 8);
  for (std::size_t i = 0; i < agents.agents.size(); ++i) {
    INFO("agent " << i);
    CHECK(agents.agents[i]->requests() == 2);
    CHECK(agents.agents[i]->connections() == (i < 2 ? 1u : 2u));
  }
}

TEST_CASE("two targets at one address are pulled apart, each with its own connection and answer") {
  Agents agents(1);  // serves n0's report
  auto impostor = agents.targets[0];
  impostor.node = "n9";  // another node's agent pod found at n0's address
  boost::asio::io_context io;
  ReportPuller puller(PullerOptions{milliseconds(5000), 2, 1 << 20, 16});
  std::map<std::string, bool> good;
  for (int round = 0; round < 3; ++round) {
    io.restart();
    auto done = boost::asio::co_spawn(io,
                                      puller.round({agents.targets[0], impostor},
                                                   [&](const AgentTarget& target, PullResult<Pulled> result) {
                                                     good[target.node] = result.has_value();
                                                     if (!result) {
                                                       CHECK(result.error().reason == PullError::wrong_node);
                                                     }
                                                   }),
                                      boost::asio::use_future);
    io.run();
    done.get();
    CHECK(good == std::map<std::string, bool>{{"n0", true}, {"n9", false}});
  }
  CHECK(agents.agents[0]->requests() == 6);
}

}  // namespace nodepack::aggregator
