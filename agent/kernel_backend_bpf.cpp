#include "agent/kernel_backend.hpp"
#include "bpf/runtime.hpp"
#include "bpf/skip_cgroups.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace nodepack::agent {
namespace {

class BpfBackend final : public KernelBackend {
 public:
  BpfBackend(const Clock& clock, BpfStatsPolicy stats)
      : runtime_(std::make_shared<bpf::BpfRuntime>(std::make_unique<bpf::KernelFeatureProbe>(), clock)),
        stats_(stats) {}

  std::vector<kpod::CollectorSpec> collectors() override {
    auto specs = runtime_->collectors();
    for (auto& s : kpod::file_collectors()) {
      specs.push_back(std::move(s));
    }
    return specs;
  }
  void started(const kpod::CollectorRegistry& registry) override {
    programs_run_ = registry.any_running(true);
    if (programs_run_ && stats_.mode == BpfStatsPolicy::Mode::always) {
      runtime_->set_stats(true);
    }
  }
  // Sampled statistics: on for the window at the start of each period, off for the rest.
  boost::asio::awaitable<void> run() override {
    if (!programs_run_ || stats_.mode != BpfStatsPolicy::Mode::sampled) {
      co_return;
    }
    spdlog::info("BPF run-time statistics on for {} s of every {} s (--kpod.bpf-stats)",
                 std::chrono::duration<double>(stats_.window).count(),
                 std::chrono::duration<double>(stats_.period).count());
    boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
    for (;;) {
      runtime_->set_stats(true);
      timer.expires_after(stats_.window);
      co_await timer.async_wait(boost::asio::use_awaitable);
      runtime_->set_stats(false);
      timer.expires_after(stats_.period - stats_.window);
      co_await timer.async_wait(boost::asio::use_awaitable);
    }
  }
  std::shared_ptr<prometheus::Collectable> collector() override { return runtime_; }
  bool has_bpf() const override { return true; }
  std::function<void(const std::vector<std::uint64_t>&)> skip_cgroups() override {
    return [](const std::vector<std::uint64_t>& ids) { bpf::SkipCgroups::shared().set(ids); };
  }

 private:
  std::shared_ptr<bpf::BpfRuntime> runtime_;
  BpfStatsPolicy stats_;
  bool programs_run_ = false;
};

}  // namespace

std::unique_ptr<KernelBackend> KernelBackend::create(const Clock& clock, BpfStatsPolicy stats) {
  return std::make_unique<BpfBackend>(clock, stats);
}

std::vector<kpod::CollectorSpec> kernel_collector_specs() {
  return BpfBackend(SystemClock::instance(), BpfStatsPolicy{}).collectors();
}

}  // namespace nodepack::agent
