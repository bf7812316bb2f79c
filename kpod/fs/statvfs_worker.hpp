#pragma once

#include <sys/statvfs.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace nodepack::kpod {

// statvfs with a deadline. statvfs of a dead network mount can block for minutes and cannot be
// interrupted, so calls run on a worker thread and the caller waits at most `timeout`. One
// worker serves call after call (a thread per call was, after mountinfo, the largest part of the
// filesystem collector's cost); a worker that does not answer in time is left to its call and
// a new one serves the next, while that path is refused until its call returns. A scrape hands
// over all its paths at once (measure_all): the worker is woken once for them and wakes the
// caller once, where a call per path cost two thread switches each. One caller at a time.
class StatvfsWorker {
 public:
  // What runs on the worker: statvfs(2) itself, or a stand-in in tests. True on success.
  using Call = std::function<bool(const std::string& path, struct statvfs& out)>;
  explicit StatvfsWorker(Call call = nullptr);
  ~StatvfsWorker();
  StatvfsWorker(const StatvfsWorker&) = delete;
  StatvfsWorker& operator=(const StatvfsWorker&) = delete;

  // The figures of `path`; nullopt on failure, on timeout, or while an earlier call on the same
  // path is still hanging.
  std::optional<struct statvfs> measure(const std::string& path, std::chrono::milliseconds timeout);
  // The figures of each path, in order, as measure() gives them. A call that makes no progress
  // for `timeout` (the path being measured then hangs: it is given up after between one and two
  // timeouts) is given up as measure() gives one up, and the paths after it go to a new worker.
  std::vector<std::optional<struct statvfs>> measure_all(const std::vector<std::string>& paths,
                                                         std::chrono::milliseconds timeout);
  // Workers started so far: one, plus one per call given up.
  std::uint64_t workers_started() const { return started_; }

  struct Shared;  // calls given up and not yet returned (defined in the .cpp)
  struct Worker;  // one thread's request and answer

 private:
  Call call_;
  std::shared_ptr<Shared> shared_;  // outlives this object while a given-up call still runs
  std::shared_ptr<Worker> worker_;  // null until the first call and after one is given up
  std::uint64_t started_ = 0;
};

}  // namespace nodepack::kpod
