#include "kpod/fs/statvfs_worker.hpp"

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

namespace nodepack::kpod {

struct StatvfsWorker::Shared {
  std::mutex mu;
  std::set<std::string> stuck;  // paths whose call was given up and has not returned
};

// The caller hands one path at a time; the thread answers it and waits for the next, until it
// is retired (by the destructor, or because its call outlived the caller's wait).
struct StatvfsWorker::Worker {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<std::string> request;
  bool answered = false;
  bool ok = false;
  struct statvfs st {};
  bool retired = false;
};

namespace {

void serve(const std::shared_ptr<StatvfsWorker::Worker>& w, const std::shared_ptr<StatvfsWorker::Shared>& shared,
           const StatvfsWorker::Call& call) {
  std::unique_lock lock(w->mu);
  for (;;) {
    w->cv.wait(lock, [&] { return w->request.has_value() || w->retired; });
    if (!w->request) {
      return;
    }
    const std::string path = std::move(*w->request);
    w->request.reset();
    lock.unlock();
    struct statvfs st {};
    const bool ok = call(path, st);
    lock.lock();
    {
      // Under the worker's lock, which a caller that gives up holds while it marks the path
      // stuck: either the answer is seen in time, or the mark is made before this clears it.
      std::lock_guard stuck_lock(shared->mu);
      shared->stuck.erase(path);  // returned at last, if it had been given up: try it again next time
    }
    w->answered = true;
    w->ok = ok;
    w->st = st;
    w->cv.notify_all();
  }
}

}  // namespace

StatvfsWorker::StatvfsWorker(Call call)
    : call_(call ? std::move(call) : Call([](const std::string& path, struct statvfs& out) {
        return ::statvfs(path.c_str(), &out) == 0;
      })),
      shared_(std::make_shared<Shared>()) {}

StatvfsWorker::~StatvfsWorker() {
  if (worker_) {
    std::lock_guard lock(worker_->mu);
    worker_->retired = true;
    worker_->cv.notify_all();
  }
}

std::optional<struct statvfs> StatvfsWorker::measure(const std::string& path, std::chrono::milliseconds timeout) {
  {
    std::lock_guard lock(shared_->mu);
    if (shared_->stuck.contains(path)) {
      return std::nullopt;
    }
  }
  if (!worker_) {
    worker_ = std::make_shared<Worker>();
    // The thread holds its own references: a worker given up outlives this object's interest.
    std::thread(serve, worker_, shared_, call_).detach();
    ++started_;
  }
  std::unique_lock lock(worker_->mu);
  worker_->request = path;
  worker_->answered = false;
  worker_->cv.notify_all();
  if (!worker_->cv.wait_for(lock, timeout, [&] { return worker_->answered; })) {
    {
      std::lock_guard stuck_lock(shared_->mu);
      shared_->stuck.insert(path);
    }
    worker_->retired = true;  // it returns once its call does
    lock.unlock();
    worker_.reset();
    spdlog::warn("collector fs: statvfs({}) did not return within {} ms; skipping that mount until it does", path,
                 timeout.count());
    return std::nullopt;
  }
  if (!worker_->ok) {
    return std::nullopt;
  }
  return worker_->st;
}

}  // namespace nodepack::kpod
