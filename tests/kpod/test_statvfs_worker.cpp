#include "kpod/fs/statvfs_worker.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

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

TEST_CASE("statvfs worker: a batch is answered in order by one worker, refused paths left out") {
  FakeStatvfs fake;
  StatvfsWorker worker(fake.call());
  const std::vector<std::string> paths{"/a", "/fail", "/ccc", "/dddd"};
  for (int round = 0; round < 50; ++round) {
    const auto got = worker.measure_all(paths, 5s);
    REQUIRE(got.size() == 4);
    REQUIRE(got[0]);
    CHECK(got[0]->f_blocks == 2);
    CHECK_FALSE(got[1]);
    REQUIRE(got[2]);
    CHECK(got[2]->f_blocks == 4);
    REQUIRE(got[3]);
    CHECK(got[3]->f_blocks == 5);
  }
  CHECK(worker.measure_all({}, 5s).empty());
  CHECK(worker.workers_started() == 1);
  CHECK(fake.calls == 200);
}

TEST_CASE("statvfs worker: a path that hangs inside a batch is given up, the paths after it measured") {
  FakeStatvfs fake;
  StatvfsWorker worker(fake.call());
  const auto got = worker.measure_all({"/a", "/bb", "/hang", "/dddd", "/eeeee"}, 100ms);
  REQUIRE(got.size() == 5);
  CHECK(got[0]->f_blocks == 2);
  CHECK(got[1]->f_blocks == 3);
  CHECK_FALSE(got[2]);
  REQUIRE(got[3]);
  CHECK(got[3]->f_blocks == 5);  // by a new worker
  REQUIRE(got[4]);
  CHECK(got[4]->f_blocks == 6);
  CHECK(worker.workers_started() == 2);
  CHECK(fake.calls == 5);

  // The next batch: the hanging path is refused at once, the others answered around it.
  const auto next = worker.measure_all({"/hang", "/a"}, 5s);
  CHECK_FALSE(next[0]);
  REQUIRE(next[1]);
  CHECK(next[1]->f_blocks == 2);
  CHECK(fake.calls == 6);
  CHECK(worker.workers_started() == 2);

  fake.release();
  std::optional<struct statvfs> again;
  for (int i = 0; i < 500 && !again; ++i) {
    again = worker.measure_all({"/hang"}, 5s).front();
    if (!again) {
      std::this_thread::sleep_for(10ms);
    }
  }
  REQUIRE(again);
  CHECK(again->f_blocks == 5);
}

TEST_CASE("statvfs worker: a slow batch that keeps answering is not given up") {
  // Each call takes 40 ms, the whole batch 400 ms: twice the timeout, yet every path makes
  // progress within it.
  std::atomic<int> calls{0};
  StatvfsWorker worker([&](const std::string& path, struct statvfs& out) {
    ++calls;
    std::this_thread::sleep_for(40ms);
    out.f_blocks = path.size();
    return true;
  });
  std::vector<std::string> paths;
  for (int i = 0; i < 10; ++i) {
    paths.push_back("/" + std::string(static_cast<std::size_t>(i + 1), 'm'));
  }
  const auto got = worker.measure_all(paths, 200ms);
  for (std::size_t i = 0; i < paths.size(); ++i) {
    REQUIRE(got[i]);
    CHECK(got[i]->f_blocks == paths[i].size());
  }
  CHECK(worker.workers_started() == 1);
  CHECK(calls == 10);
}
