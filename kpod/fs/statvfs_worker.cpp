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

// The caller hands over a batch of paths; the thread answers them in order, wakes the caller when
// all are answered, and waits for the next batch, until it is retired (by the destructor, or
// because a call outlived the caller's wait).
struct StatvfsWorker::Worker {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> batch;
  struct Answer {
    bool ok = false;
    struct statvfs st {};
  };
  std::vector<Answer> answers;  // batch[i]'s answer is answers[i]
  bool retired = false;
  bool pending() const { return answers.size() < batch.size(); }
};

namespace {

void serve(const std::shared_ptr<StatvfsWorker::Worker>& w, const std::shared_ptr<StatvfsWorker::Shared>& shared,
           const StatvfsWorker::Call& call) {
  std::unique_lock lock(w->mu);
  for (;;) {
    w->cv.wait(lock, [&] { return w->pending() || w->retired; });
    if (w->retired) {
      return;  // a given-up batch's remaining paths went to another worker
    }
    // The worker allocates nothing (the batch is not touched while it is pending, and its
    // answers' room is reserved by the caller): a thread that allocates gets a malloc arena of
    // its own, a few hundred KiB of resident memory for a thread that only calls statvfs.
    const std::string& path = w->batch[w->answers.size()];
    lock.unlock();
    StatvfsWorker::Worker::Answer answer;
    answer.ok = call(path, answer.st);
    lock.lock();
    {
      // Under the worker's lock, which a caller that gives up holds while it marks the path
      // stuck: either the answer is seen in time, or the mark is made before this clears it.
      std::lock_guard stuck_lock(shared->mu);
      shared->stuck.erase(path);  // returned at last, if it had been given up: try it again next time
    }
    w->answers.push_back(answer);
    if (!w->pending()) {
      w->cv.notify_all();
    }
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
  return measure_all({path}, timeout).front();
}

std::vector<std::optional<struct statvfs>> StatvfsWorker::measure_all(const std::vector<std::string>& paths,
                                                                      std::chrono::milliseconds timeout) {
  std::vector<std::optional<struct statvfs>> out(paths.size());
  std::vector<std::size_t> todo;  // indices into paths of those not refused
  {
    std::lock_guard lock(shared_->mu);
    for (std::size_t i = 0; i < paths.size(); ++i) {
      if (!shared_->stuck.contains(paths[i])) {
        todo.push_back(i);
      }
    }
  }
  std::size_t done = 0;  // into todo
  while (done < todo.size()) {
    if (!worker_) {
      worker_ = std::make_shared<Worker>();
      // The thread holds its own references: a worker given up outlives this object's interest.
      std::thread(serve, worker_, shared_, call_).detach();
      ++started_;
    }
    std::unique_lock lock(worker_->mu);
    worker_->batch.clear();
    worker_->answers.clear();
    for (std::size_t k = done; k < todo.size(); ++k) {
      worker_->batch.push_back(paths[todo[k]]);
    }
    worker_->answers.reserve(worker_->batch.size());
    worker_->cv.notify_all();
    // Woken when all are answered; a timeout with some progress waits on, one without gives up
    // the path being measured.
    std::size_t seen = 0;
    while (!worker_->cv.wait_for(lock, timeout, [&] { return !worker_->pending(); }) &&
           worker_->answers.size() > seen) {
      seen = worker_->answers.size();
    }
    const std::size_t answered = worker_->answers.size();
    for (std::size_t k = 0; k < answered; ++k) {
      if (worker_->answers[k].ok) {
        out[todo[done + k]] = worker_->answers[k].st;
      }
    }
    done += answered;
    if (done == todo.size()) {
      break;
    }
    const std::string& path = paths[todo[done]];
    {
      std::lock_guard stuck_lock(shared_->mu);
      shared_->stuck.insert(path);
    }
    worker_->retired = true;  // it returns once its call does
    lock.unlock();
    worker_.reset();
    spdlog::warn("collector fs: statvfs({}) did not return within {} ms; skipping that mount until it does", path,
                 timeout.count());
    ++done;  // that one stays nullopt; a new worker takes the rest
  }
  return out;
}

}  // namespace nodepack::kpod
