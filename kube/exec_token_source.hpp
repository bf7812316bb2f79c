#pragma once

// The bearer token of an exec credential plugin, cached until it expires. The plugin runs on a
// thread of its own: a plugin may take seconds (or hang until its timeout), and the io thread that
// asks for the token also answers /healthz and /metrics. Requests that need a fresh token while a
// run is under way wait for that run instead of starting another.

#include "common/clock.hpp"
#include "common/result.hpp"
#include "kube/exec_plugin.hpp"
#include "kube/kubeconfig.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace nodepack::kube {

class ExecTokenSource {
 public:
  ExecTokenSource(ExecConfig exec, const Clock& clock, std::chrono::milliseconds timeout);
  // Kills a plugin still running (its process group) and joins the worker; callers still waiting
  // get an error on their executors.
  ~ExecTokenSource();
  ExecTokenSource(const ExecTokenSource&) = delete;
  ExecTokenSource& operator=(const ExecTokenSource&) = delete;

  // The cached token, or one from a plugin run the calling coroutine waits for without blocking its
  // thread; the run's error (e.g. the timeout, naming the plugin) otherwise.
  boost::asio::awaitable<Result<std::string>> token();
  // After a 401: the next token() runs the plugin again.
  void invalidate();
  int runs() const;  // plugin runs started

 private:
  struct Waiter;
  std::optional<std::string> cached_token() const;  // the caller holds mutex_
  void join_run(Waiter waiter);
  void worker();

  const ExecConfig exec_;
  const Clock& clock_;
  const std::chrono::milliseconds timeout_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::optional<ExecCredential> cached_;
  std::vector<Waiter> waiters_;  // coroutines waiting for the run under way
  bool run_requested_ = false;   // a run is queued or under way
  bool stopping_ = false;
  int runs_ = 0;
  int cancel_pipe_[2] = {-1, -1};  // written once by the destructor: the worker kills the plugin
  std::thread thread_;
};

}  // namespace nodepack::kube
