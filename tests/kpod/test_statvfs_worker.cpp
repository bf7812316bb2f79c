#include "kpod/fs/statvfs_worker.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

using nodepack::kpod::StatvfsWorker;
using namespace std::chrono_literals;

namespace {

// A stand-in for statvfs: "/hang" blocks until released, "/fail" fails, anything else answers
// with f_blocks = the path's length, so each answer can be told from the others.
struct FakeStatvfs {
  std::mutex mu;
  std::condition_variable cv;
  bool released = false;
  std::atomic<int> calls{0};
  StatvfsWorker::Call call() {
    return [this](const std::string& path, struct statvfs& out) {
      ++calls;
      if (path == "/hang") {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return released; });
      }
      if (path == "/fail") {
        return false;
      }
      out.f_blocks = path.size();
      return true;
    };
  }
  void release() {
    std::lock_guard lock(mu);
    released = true;
    cv.notify_all();
  }
};

}  // namespace

TEST_CASE("statvfs worker: one thread answers call after call") {
  FakeStatvfs fake;
  StatvfsWorker worker(fake.call());
  for (int i = 0; i < 200; ++i) {
    const std::string path = "/m/" + std::string(static_cast<std::size_t>(i % 7), 'x');
    auto got = worker.measure(path, 5s);
    REQUIRE(got);
    CHECK(got->f_blocks == path.size());
  }
  CHECK_FALSE(worker.measure("/fail", 5s));
  CHECK(worker.workers_started() == 1);
  CHECK(fake.calls == 201);
}

TEST_CASE("statvfs worker: a hanging call is given up, its path refused until it returns, others served") {
  FakeStatvfs fake;
  StatvfsWorker worker(fake.call());
  CHECK(worker.measure("/a", 5s)->f_blocks == 2);
  CHECK_FALSE(worker.measure("/hang", 50ms));
  CHECK(fake.calls == 2);

  CHECK_FALSE(worker.measure("/hang", 5s));  // refused at once: no second call piles up behind it
  CHECK(fake.calls == 2);
  CHECK(worker.measure("/bb", 5s)->f_blocks == 3);  // a new worker serves the rest
  CHECK(worker.workers_started() == 2);

  fake.release();
  // The given-up call returns on its old worker and clears the path; then it is measured again.
  std::optional<struct statvfs> again;
  for (int i = 0; i < 500 && !again; ++i) {
    again = worker.measure("/hang", 5s);
    if (!again) {
      std::this_thread::sleep_for(10ms);
    }
  }
  REQUIRE(again);
  CHECK(again->f_blocks == 5);
  CHECK(worker.workers_started() == 2);
}
