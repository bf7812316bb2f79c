#include "kube/exec_token_source.hpp"

#include "common/rfc3339.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fcntl.h>
#include <unistd.h>

namespace nodepack::kube {

namespace asio = boost::asio;

namespace {

// Tokens this close to expiry are refreshed early so a request does not race the expiry.
constexpr std::chrono::seconds expiry_margin{10};

}  // namespace

// A coroutine waiting for a plugin run. The executor tracks outstanding work: while the plugin
// runs, nothing else may be pending on the io_context, and run() must not return meanwhile.
struct ExecTokenSource::Waiter {
  asio::any_io_executor executor;
  asio::any_completion_handler<void(Result<std::string>)> handler;

  // Posts through an untracked copy and hands the tracked one to the posted function, so the work
  // is released on the io thread after the handler ran. Released here, on the worker, it could be
  // the io_context's last work: run() would return, and the io_context could be destroyed while
  // this thread is still inside it.
  void complete(Result<std::string> token) {
    const auto target = asio::prefer(executor, asio::execution::outstanding_work.untracked);
    asio::post(target, [work = std::move(executor), handler = std::move(handler), token = std::move(token)]() mutable {
      std::move(handler)(std::move(token));
    });
  }
};

ExecTokenSource::ExecTokenSource(ExecConfig exec, const Clock& clock, std::chrono::milliseconds timeout)
    : exec_(std::move(exec)), clock_(clock), timeout_(timeout) {
  // Without the pipe the destructor still works; it waits for the plugin's timeout instead.
  if (pipe2(cancel_pipe_, O_CLOEXEC | O_NONBLOCK) != 0) {
    cancel_pipe_[0] = cancel_pipe_[1] = -1;
  }
  thread_ = std::thread([this] { worker(); });
}

ExecTokenSource::~ExecTokenSource() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (cancel_pipe_[1] >= 0) {
    [[maybe_unused]] const auto written = write(cancel_pipe_[1], "x", 1);
  }
  thread_.join();
  for (auto& waiter : waiters_) {
    waiter.complete(fail("exec plugin " + exec_.command + ": its client is shutting down"));
  }
  for (const int fd : cancel_pipe_) {
    if (fd >= 0) {
      close(fd);
    }
  }
}

std::optional<std::string> ExecTokenSource::cached_token() const {
  if (cached_ && (!cached_->expires || clock_.now() + expiry_margin < *cached_->expires)) {
    return cached_->token;
  }
  return std::nullopt;
}

asio::awaitable<Result<std::string>> ExecTokenSource::token() {
  {
    std::lock_guard lock(mutex_);
    if (auto token = cached_token()) {
      co_return *token;
    }
  }
  auto executor = asio::prefer(co_await asio::this_coro::executor, asio::execution::outstanding_work.tracked);
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(Result<std::string>)>(
      [this, executor](auto handler) {
        join_run(Waiter{executor, std::move(handler)});
      },
      asio::use_awaitable);
}

void ExecTokenSource::join_run(Waiter waiter) {
  std::lock_guard lock(mutex_);
  if (auto token = cached_token()) {
    // A run finished between token()'s look at the cache and here.
    waiter.complete(std::move(*token));
    return;
  }
  waiters_.push_back(std::move(waiter));
  if (!run_requested_) {
    run_requested_ = true;
    ++runs_;
    wake_.notify_one();
  }
}

void ExecTokenSource::worker() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return run_requested_ || stopping_; });
    if (stopping_) {
      return;
    }
    lock.unlock();
    auto cred = run_exec_plugin(exec_, timeout_, cancel_pipe_[0]);
    if (cred) {
      spdlog::info("exec plugin {} returned a token{}", exec_.command,
                   cred->expires ? " valid until " + format_rfc3339(*cred->expires) : std::string(" without expiry"));
    } else {
      spdlog::error("{}", cred.error().message);
    }
    lock.lock();
    Result<std::string> token = cred ? Result<std::string>(cred->token) : Result<std::string>(cred.error());
    if (cred) {
      cached_ = std::move(*cred);
    }
    run_requested_ = false;
    // Under the lock, with the cache already filled: a request arriving now takes the cached
    // token and cannot start a second run for the same need.
    for (auto& waiter : waiters_) {
      waiter.complete(token);
    }
    waiters_.clear();
  }
}

void ExecTokenSource::invalidate() {
  std::lock_guard lock(mutex_);
  cached_.reset();
}

int ExecTokenSource::runs() const {
  std::lock_guard lock(mutex_);
  return runs_;
}

}  // namespace nodepack::kube
