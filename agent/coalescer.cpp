#include "agent/coalescer.hpp"

namespace nodepack::agent {

Coalescer::Coalescer(boost::asio::any_io_executor executor, const Clock& clock, std::chrono::milliseconds interval,
                     std::function<void()> run)
    : timer_(std::move(executor)), clock_(clock), interval_(interval), run_(std::move(run)) {}

void Coalescer::notify() {
  if (armed_) {
    return;  // the armed run will see this change too
  }
  armed_ = true;
  auto delay = std::chrono::steady_clock::duration::zero();
  if (last_run_) {
    const auto next = *last_run_ + interval_;
    const auto now = clock_.steady_now();
    delay = next > now ? next - now : delay;
  }
  timer_.expires_after(delay);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) {
      return;  // cancelled: the agent is stopping
    }
    armed_ = false;
    last_run_ = clock_.steady_now();
    run_();
  });
}

}  // namespace nodepack::agent
