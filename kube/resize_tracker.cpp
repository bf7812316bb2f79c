#include "kube/resize_tracker.hpp"

#include "common/rfc3339.hpp"
#include "kube/reflector.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>

namespace nodepack::kube {

ResizeTracker::ResizeTracker(ResizeSetting setting, OnChange on_change)
    : setting_(setting), on_change_(std::move(on_change)) {
  switch (setting) {
    case ResizeSetting::max_of_sums:
      semantics_ = ResizeSemantics::max_of_sums;
      decided_by_ = "--resize-semantics=max-of-sums";
      break;
    case ResizeSetting::per_container:
      semantics_ = ResizeSemantics::per_container;
      decided_by_ = "--resize-semantics=per-container";
      break;
    default:
      semantics_ = ResizeSemantics::per_container;
      decided_by_ = "auto: the API server's version is not known yet (per-container until it answers)";
      break;
  }
}

ResizeSemantics ResizeTracker::semantics() const {
  std::lock_guard lock(mutex_);
  return semantics_;
}

boost::json::object ResizeTracker::json() const {
  std::lock_guard lock(mutex_);
  boost::json::object out;
  out["setting"] = resize_setting_name(setting_);
  out["semantics"] = resize_semantics_name(semantics_);
  out["decided_by"] = decided_by_;
  out["server_version"] = version_ ? boost::json::value(version_->git_version) : boost::json::value(nullptr);
  out["checked_at"] = checked_at_ ? boost::json::value(format_rfc3339(*checked_at_)) : boost::json::value(nullptr);
  out["checks"] = checks_;
  out["last_error"] = last_error_;
  return out;
}

std::string ResizeTracker::describe() const {
  std::lock_guard lock(mutex_);
  return std::string(resize_semantics_name(semantics_)) + " (" + decided_by_ + ")";
}

void ResizeTracker::observe(const Result<ServerVersion>& version, std::chrono::system_clock::time_point at) {
  if (setting_ != ResizeSetting::automatic) {
    return;
  }
  bool changed = false;
  ResizeSemantics now{};
  {
    std::lock_guard lock(mutex_);
    ++checks_;
    checked_at_ = at;
    if (!version) {
      last_error_ = version.error().message;  // keep the rule the last answer gave
      return;
    }
    last_error_.clear();
    version_ = *version;
    now = semantics_for(*version);
    changed = now != semantics_;
    semantics_ = now;
    decided_by_ = "auto: API server " + version->git_version + " (" + std::to_string(version->major) + "." +
                  std::to_string(version->minor) + (now == ResizeSemantics::max_of_sums ? " >= 1.37" : " < 1.37") + ")";
  }
  spdlog::info("in-place resize semantics: {}", describe());
  if (changed && on_change_) {
    on_change_(now);
  }
}

boost::asio::awaitable<void> ResizeTracker::run(ApiClient& client, Recoveries recoveries, const Clock& clock,
                                                std::chrono::milliseconds poll) {
  if (setting_ != ResizeSetting::automatic) {
    co_return;
  }
  boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
  std::optional<std::uint64_t> asked_at;  // the recovery count when /version last answered
  std::chrono::milliseconds retry = poll;
  for (;;) {
    const auto count = recoveries();
    const bool ask = !asked_at || (count && *count != *asked_at);
    if (ask) {
      auto version = co_await fetch_server_version(client);
      const bool answered = version.has_value();
      observe(version, clock.now());
      if (answered) {
        asked_at = count.value_or(asked_at.value_or(0));
        retry = poll;
      } else {
        spdlog::warn("resize semantics: /version failed, asking again in {} ms: {}", retry.count(),
                     version.error().message);
        timer.expires_after(retry);
        co_await timer.async_wait(boost::asio::use_awaitable);
        retry = std::min<std::chrono::milliseconds>(retry * 2, std::chrono::seconds(30));
        continue;
      }
    }
    timer.expires_after(poll);
    co_await timer.async_wait(boost::asio::use_awaitable);
  }
}

std::optional<std::uint64_t> watch_recoveries(const std::vector<const Reflector*>& reflectors) {
  std::uint64_t errors = 0;
  for (const auto* r : reflectors) {
    const auto s = r->status();
    if (s.failing_since) {
      return std::nullopt;
    }
    errors += s.errors;
  }
  return errors;
}

boost::asio::awaitable<Result<ServerVersion>> fetch_server_version(ApiClient& client) {
  auto response = co_await client.get("/version", std::chrono::seconds(10), 64 * 1024);
  if (!response) {
    co_return fail("GET /version: " + response.error().message);
  }
  if (response->status != 200) {
    co_return fail("GET /version: status " + std::to_string(response->status));
  }
  boost::system::error_code ec;
  const auto json = boost::json::parse(response->body, ec);
  if (ec) {
    co_return fail("GET /version: not JSON: " + ec.message());
  }
  co_return parse_server_version(json);
}

}  // namespace nodepack::kube
