// The poller on its own thread against a fake kubelet: a socket that appears late, a kubelet
// restart (the socket goes away and comes back), and the rate at which it asks.

#include "podresources/poller.hpp"

#include "tests/support/fake_podresources.hpp"
#include "tests/support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <condition_variable>
#include <mutex>
#include <vector>

using namespace nodepack;
using namespace nodepack::testing;
using numa::PodResourcesError;
using std::chrono::milliseconds;

namespace {

// Every outcome the poller reports, in order, and a way to wait for one.
class Outcomes {
 public:
  podresources::Poller::Callback callback() {
    return [this](numa::PodResourcesResult<numa::PodResourcesAnswer> r) {
      std::lock_guard lock(mu_);
      results_.push_back(r ? std::string("ok") : std::string(numa::to_string(r.error().reason)));
      cv_.notify_all();
    };
  }
  // Waits until the latest outcome is `what`; false after `timeout`.
  bool wait_for(const std::string& what, milliseconds timeout = milliseconds(5000)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return !results_.empty() && results_.back() == what; });
  }
  std::vector<std::string> all() const {
    std::lock_guard lock(mu_);
    return results_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> results_;
};

podresources::PollerOptions options(const std::filesystem::path& socket, milliseconds interval, milliseconds gap) {
  podresources::PollerOptions o;
  o.client.socket = socket;
  o.client.deadline = milliseconds(1000);
  o.interval = interval;
  o.min_gap = gap;
  return o;
}

}  // namespace

TEST_CASE("a socket that appears late is answered within the retry, not the interval") {
  TempDir tmp;
  const auto socket = tmp.path() / "pod-resources/kubelet.sock";
  FakePodResources kubelet(socket);
  Outcomes out;
  // A long interval: only the faster retry after failures can find the socket in time.
  podresources::Poller poller(options(socket, milliseconds(60'000), milliseconds(50)), SystemClock::instance(),
                              out.callback());
  poller.start();
  REQUIRE(out.wait_for("no_socket"));
  kubelet.start();
  const auto started = std::chrono::steady_clock::now();
  REQUIRE(out.wait_for("ok"));
  // Retries double from 50 ms; however many failed before, the next comes within a few seconds.
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(10));
  const auto seen = out.all();
  CHECK(std::count(seen.begin(), seen.end(), "no_socket") >= 1);
}

TEST_CASE("a kubelet restart: failures while it is away, answers once it is back") {
  TempDir tmp;
  const auto socket = tmp.path() / "pod-resources/kubelet.sock";
  FakePodResources kubelet(socket);
  kubelet.start();
  Outcomes out;
  podresources::Poller poller(options(socket, milliseconds(100), milliseconds(20)), SystemClock::instance(),
                              out.callback());
  poller.start();
  REQUIRE(out.wait_for("ok"));
  kubelet.stop();  // the socket is removed, as the kubelet does when it stops
  REQUIRE(out.wait_for("no_socket"));
  kubelet.start();  // a new socket at the same path
  REQUIRE(out.wait_for("ok"));
}

TEST_CASE("garbage on the socket is reported each time, and a real answer replaces it") {
  TempDir tmp;
  const auto socket = tmp.path() / "pod-resources/kubelet.sock";
  FakePodResources kubelet(socket);
  kubelet.start_garbage(std::string("\x08\xff\xff", 3));
  Outcomes out;
  podresources::Poller poller(options(socket, milliseconds(100), milliseconds(20)), SystemClock::instance(),
                              out.callback());
  poller.start();
  REQUIRE(out.wait_for("bad_answer"));
  kubelet.start();
  REQUIRE(out.wait_for("ok"));
}

TEST_CASE("nudges are coalesced and never closer than min_gap") {
  TempDir tmp;
  const auto socket = tmp.path() / "pod-resources/kubelet.sock";
  FakePodResources kubelet(socket);
  kubelet.start();
  Outcomes out;
  podresources::Poller poller(options(socket, milliseconds(60'000), milliseconds(100)), SystemClock::instance(),
                              out.callback());
  poller.start();
  REQUIRE(out.wait_for("ok"));
  const auto before = poller.polls();
  const auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < milliseconds(550)) {
    poller.nudge();  // a pod storm: hundreds of nudges
    std::this_thread::sleep_for(milliseconds(2));
  }
  const auto during = poller.polls() - before;
  // 550 ms at one poll per 100 ms at most: 6, and at least a few (nudges do trigger polls).
  CHECK(during >= 3);
  CHECK(during <= 6);
  // Each poll is two calls: at most ~12 per second against the kubelet's 100 (burst 10).
  CHECK(kubelet.calls() <= 2 * (poller.polls() + 1));
}

TEST_CASE("a rate-limited poll waits a whole interval, not the failure retry") {
  TempDir tmp;
  const auto socket = tmp.path() / "pod-resources/kubelet.sock";
  FakePodResources kubelet(socket);
  kubelet.start();
  kubelet.fail_with(grpc::StatusCode::RESOURCE_EXHAUSTED, "rejected by rate limit");
  Outcomes out;
  podresources::Poller poller(options(socket, milliseconds(400), milliseconds(10)), SystemClock::instance(),
                              out.callback());
  poller.start();
  REQUIRE(out.wait_for("rate_limited"));
  std::this_thread::sleep_for(milliseconds(1000));
  // 10 ms retries would have asked dozens of times; one interval apart it is 3 or 4.
  CHECK(poller.polls() <= 4);
  CHECK(poller.polls() >= 2);
}

TEST_CASE("nudges do not poll a kubelet that is not answering: the retry schedule does") {
  TempDir tmp;
  const auto socket = tmp.path() / "pod-resources/kubelet.sock";  // never made
  Outcomes out;
  podresources::Poller poller(options(socket, milliseconds(60'000), milliseconds(20)), SystemClock::instance(),
                              out.callback());
  poller.start();
  // Retries at 20, 40, 80, 160, 320 ms after each failure: after the sixth, the next is 640 ms away
  // (after a later one, further still).
  const auto start = std::chrono::steady_clock::now();
  while (poller.polls() < 6 && std::chrono::steady_clock::now() - start < std::chrono::seconds(10)) {
    std::this_thread::sleep_for(milliseconds(1));
  }
  const auto before = poller.polls();
  REQUIRE(before >= 6);
  const auto nudging = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - nudging < milliseconds(300)) {
    poller.nudge();  // pod events while the socket is away
    std::this_thread::sleep_for(milliseconds(2));
  }
  CHECK(poller.polls() == before);
  const auto seen = out.all();
  CHECK(static_cast<std::uint64_t>(std::count(seen.begin(), seen.end(), "no_socket")) == before);
}
