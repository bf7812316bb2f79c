#pragma once

// Asks pod-resources on a thread of its own, so a slow or absent kubelet never stalls the agent's
// io thread: every `interval`, soon after nudge() (pods or checkpoint files changed), and never
// twice within `min_gap`. The kubelet rate-limits this API for all its clients together (100
// calls a second, bursts of 10, then RESOURCE_EXHAUSTED); a poll is two calls, so even nudged
// continuously the agent stays two orders of magnitude below. After a failure it retries
// sooner than `interval` (from `min_gap`, doubling), so a socket that appears late or comes back
// after a kubelet restart is seen within seconds; a rate-limited poll waits a whole interval.

#include "common/clock.hpp"
#include "numa/pod_resources.hpp"
#include "podresources/client.hpp"

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace nodepack::podresources {

struct PollerOptions {
  ClientOptions client;
  std::chrono::milliseconds interval{10'000};
  std::chrono::milliseconds min_gap{1'000};
};

class Poller {
 public:
  // Called on the poller's thread after every poll.
  using Callback = std::function<void(numa::PodResourcesResult<numa::PodResourcesAnswer>)>;

  // `clock` stamps the answers (its wall time); waiting is real time.
  Poller(PollerOptions options, const Clock& clock, Callback callback);
  ~Poller();  // stops and joins
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;

  void start();
  // Poll soon: coalesced, and not within min_gap of the last poll. Only while the kubelet
  // answers: after a failure the retry schedule alone decides (a pod event does not bring a
  // socket back, and each failed poll rebuilds the NUMA model for nothing).
  void nudge();
  void stop();

  std::uint64_t polls() const;

 private:
  void run();

  PollerOptions options_;
  const Clock& clock_;
  Callback callback_;
  Client client_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::uint64_t nudges_ = 0;
  std::uint64_t polls_ = 0;
  std::thread thread_;
};

}  // namespace nodepack::podresources
