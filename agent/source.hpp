#pragma once

// A part of the agent that reads the node itself rather than the API server: NUMA topology and
// kubelet state, usage accounting, per-pod kernel metrics. The agent starts each one, serves its
// metrics and debug page, runs its background work on the io_context, and tells it, coalesced to
// at most once a second, when the pods changed.

#include <prometheus/collectable.h>
#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>

namespace nodepack::agent {

// Which of the node's pods changed since sources last heard (a burst of events is one notice).
struct PodChanges {
  bool all = false;                      // a relist: any pod may have changed
  std::unordered_set<std::string> uids;  // otherwise these were added, changed or removed
};

class Source {
 public:
  virtual ~Source() = default;

  // "numa", "accounting", "kernel": names its debug page (/debug/<name>) and its log lines.
  virtual std::string_view name() const = 0;
  // Loads what it can; a missing piece turns its feature off (logged and shown in its metrics),
  // never the agent.
  virtual void start() = 0;
  virtual std::shared_ptr<prometheus::Collectable> collector() const = 0;
  // Background work on the agent's io_context (timers, file polls); returns at once when none.
  virtual boost::asio::awaitable<void> run();
  // Some pod was added, changed or removed since the last call (a burst is one call).
  virtual void pods_changed(const PodChanges&) {}
  // After the io thread has stopped: last writes.
  virtual void stop() {}
  // /debug/<name>; null when the source has no debug page.
  virtual boost::json::value debug_json() const { return nullptr; }
};

}  // namespace nodepack::agent
