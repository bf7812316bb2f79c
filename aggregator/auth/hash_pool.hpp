#pragma once

// Where authentication's slow work runs instead of the serving thread: password hashes (a bcrypt-12
// check takes ~230 ms) and re-reading the credential files. A few worker threads and a bounded
// queue: a job that finds the queue full is refused at once, so a burst of logins neither stalls
// the thread that answers /healthz and /metrics nor makes every caller wait longer and longer.

#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <cstddef>
#include <exception>
#include <optional>
#include <type_traits>

namespace nodepack::auth {

struct HashPoolOptions {
  std::size_t threads = 2;  // at least 1; hashing is CPU work, more threads than cores gain nothing
  std::size_t queue = 16;   // jobs waiting for a thread, beyond those running
};

class HashPool {
 public:
  explicit HashPool(HashPoolOptions options);
  // Waits for running jobs; queued ones are dropped with their waiting callers.
  ~HashPool();
  HashPool(const HashPool&) = delete;
  HashPool& operator=(const HashPool&) = delete;

  // Runs `job` on a worker thread; the caller resumes on its own executor once it is done (an
  // exception from the job is rethrown there). nullopt, at once, when every thread is busy and the
  // queue is full.
  //
  // gcc 12 destroys a capturing lambda twice when it is written inside a co_await expression: name
  // the job first (`auto job = [...] {...}; co_await pool.run(std::move(job));`).
  template <class Job>
  auto run(Job job) {
    using Value = std::invoke_result_t<Job&>;
    return boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&,
                                       void(std::exception_ptr, std::optional<Value>)>(
        [this](auto handler, Job j) { this->start(std::move(handler), std::move(j)); }, boost::asio::use_awaitable,
        std::move(job));
  }

  std::size_t capacity() const { return capacity_; }
  std::size_t in_use() const { return in_use_.load(); }

 private:
  class Slot {
   public:
    explicit Slot(HashPool& owner) : owner_(owner) {}
    ~Slot() { owner_.in_use_.fetch_sub(1); }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;

   private:
    HashPool& owner_;
  };
  bool reserve();
  // Lowers the calling worker thread's scheduling priority (10 nice levels, once per thread): on a node
  // with as many cores as hashing threads, the serving thread then still gets a CPU at once when a
  // probe arrives instead of sharing it equally with a 230 ms hash.
  static void yield_to_serving_threads();

  template <class Handler, class Job>
  void start(Handler handler, Job job) {
    using Value = std::invoke_result_t<Job&>;
    // The caller's executor, counted as busy until the caller resumes: its io_context must not run
    // out of work (and return from run()) while the job is on a worker.
    auto home = boost::asio::prefer(boost::asio::get_associated_executor(handler),
                                    boost::asio::execution::outstanding_work.tracked);
    if (!reserve()) {
      boost::asio::post(home, [h = std::move(handler)]() mutable { std::move(h)(nullptr, std::optional<Value>()); });
      return;
    }
    boost::asio::post(pool_, [this, home, h = std::move(handler), j = std::move(job)]() mutable {
      std::exception_ptr error;
      std::optional<Value> value;
      {
        // Released on the worker, as soon as the work is done: a caller slow to resume holds no slot.
        const Slot slot(*this);
        yield_to_serving_threads();
        try {
          value = j();
        } catch (...) {
          error = std::current_exception();
        }
      }
      boost::asio::post(
          home, [h = std::move(h), error, v = std::move(value)]() mutable { std::move(h)(error, std::move(v)); });
    });
  }

  std::size_t capacity_;                // threads + queue
  std::atomic<std::size_t> in_use_{0};  // reserved: queued or running
  boost::asio::thread_pool pool_;
};

}  // namespace nodepack::auth
