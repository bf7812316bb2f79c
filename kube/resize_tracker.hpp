#pragma once

// Which in-place resize rule is in force. Fixed by --resize-semantics, or with `auto` decided by the
// API server's /version: asked at start-up, asked again whenever the watches recover from a failure
// (an upgrade restarts the API server, and the watches reconnect to the new one), and retried
// until it answers. Until the first answer the old rule (per-container) applies, and says so.

#include "common/clock.hpp"
#include "common/result.hpp"
#include "kube/api_client.hpp"
#include "kube/server_version.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace nodepack::kube {

class ResizeTracker {
 public:
  // Told of every change of rule after the first decision too (start-up applies per-container).
  using OnChange = std::function<void(ResizeSemantics)>;
  // nullopt while any watch is failing; else a count that grows with every watch failure. A new
  // value means the watches have recovered since the last check: ask /version again.
  using Recoveries = std::function<std::optional<std::uint64_t>()>;

  ResizeTracker(ResizeSetting setting, OnChange on_change);

  ResizeSemantics semantics() const;
  ResizeSetting setting() const { return setting_; }
  // {"setting", "semantics", "decided_by", "server_version", "checked_at", "checks", "last_error"}
  boost::json::object json() const;
  // One line for the start-up log and for changes.
  std::string describe() const;

  // Records one answer of /version (or why there was none); calls on_change when the rule changes.
  void observe(const Result<ServerVersion>& version, std::chrono::system_clock::time_point at);

  // With `auto`: asks /version now and after each recovery; returns at once for a fixed setting.
  // Runs until the executor stops.
  boost::asio::awaitable<void> run(ApiClient& client, Recoveries recoveries, const Clock& clock,
                                   std::chrono::milliseconds poll = std::chrono::seconds(1));

 private:
  ResizeSetting setting_;
  OnChange on_change_;
  mutable std::mutex mutex_;
  ResizeSemantics semantics_;
  std::string decided_by_;
  std::optional<ServerVersion> version_;
  std::optional<std::chrono::system_clock::time_point> checked_at_;
  std::string last_error_;
  std::uint64_t checks_ = 0;
};

class Reflector;
// The Recoveries of a set of watches: nullopt while any is failing, else their summed error count.
std::optional<std::uint64_t> watch_recoveries(const std::vector<const Reflector*>& reflectors);

// GET /version, bounded and parsed.
boost::asio::awaitable<Result<ServerVersion>> fetch_server_version(ApiClient& client);

}  // namespace nodepack::kube
