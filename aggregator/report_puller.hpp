#pragma once

// Pulls agents' /report documents over plain HTTP/1.1: a round of pulls with bounded parallelism,
// a time limit per pull, a body limit, and a kept-alive connection per agent between rounds (up to
// a cap, so a large cluster does not exhaust file descriptors). A report that parsed is
// remembered by its ETag and asked for with If-None-Match: an agent whose report did not change
// answers 304, delivered as `Unchanged`, and costs no parse. Runs on one executor; everything
// here is touched from that thread only.

#include "aggregator/aggregator_options.hpp"
#include "aggregator/report.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

namespace nodepack::aggregator {

struct PullerOptions {
  std::chrono::milliseconds timeout{5000};  // per pull: connect, send, read
  std::size_t concurrency = 32;
  std::size_t max_body_bytes = 4 * 1024 * 1024;
  std::size_t max_idle_connections = 1024;  // kept open between rounds
};

// The agent confirmed that its report is the one delivered last time for this target.
struct Unchanged {};
using Pulled = std::variant<NodeReport, Unchanged>;

class ReportPuller {
 public:
  using Deliver = std::function<void(const AgentTarget& target, PullResult<Pulled> result)>;

  explicit ReportPuller(PullerOptions options);
  ~ReportPuller();
  ReportPuller(const ReportPuller&) = delete;
  ReportPuller& operator=(const ReportPuller&) = delete;

  // Pulls every target once; `deliver` runs as each result arrives. Completes when all have.
  // `authorization` (the aggregator's own "Bearer <service account token>") goes with every pull:
  // agents answer only callers the API server vouches for. With a `spread`, pulls start evenly over
  // that time, each target at a place fixed by a hash of its address (so every agent is asked once
  // an interval, at a steady rate across the cluster); without, as fast as the concurrency allows.
  boost::asio::awaitable<void> round(std::vector<AgentTarget> targets, Deliver deliver, std::string authorization = "",
                                     std::chrono::nanoseconds spread = {});
  // Pulls of the last round the agent refused with 401 (a token that rotated under us).
  std::size_t last_round_unauthorized() const { return unauthorized_; }

  // The next pull of `target` asks for the whole report (its consumer has no copy to reuse).
  void forget(const AgentTarget& target) { etags_.erase(slot_key(target)); }
  std::uint64_t unchanged_total() const { return unchanged_; }

  std::size_t open_connections() const { return open_; }
  std::uint64_t connections_opened() const { return opened_; }

 private:
  struct Connection;
  struct RoundState;

  boost::asio::awaitable<void> worker(RoundState* state);
  struct Fetched {
    std::string body;
    std::string etag;
    bool unchanged = false;
  };
  // `key`: the target's slot_key, for its ETag.
  boost::asio::awaitable<PullResult<Fetched>> fetch(const AgentTarget& target, const std::string& key,
                                                    Connection& connection);
  void close(Connection& connection);

  PullerOptions options_;
  std::string authorization_;
  std::size_t unauthorized_ = 0;
  // A target's connection and ETag are its own: keyed by node and address, since two nodes'
  // agents may be found at one address.
  static std::string slot_key(const AgentTarget& target);
  std::unordered_map<std::string, std::unique_ptr<Connection>> connections_;  // by slot key
  std::unordered_map<std::string, std::string> etags_;  // by slot key: of the last report that parsed
  std::uint64_t unchanged_ = 0;
  std::size_t open_ = 0;
  std::uint64_t opened_ = 0;
};

}  // namespace nodepack::aggregator
