#include "agent/numa_source.hpp"

#include "numa/collector.hpp"
#include "numa/report.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace nodepack::agent {

NumaSource::NumaSource(std::string node_name, const cgroup::PodLookup& pods, HostPaths paths,
                       numa::CpuSet reserved_cpus, const Clock& clock) {
  numa::NumaOptions options;
  options.paths = paths;
  options.node_name = std::move(node_name);
  options.reserved_cpus = std::move(reserved_cpus);
  numa_ = std::make_unique<numa::NumaState>(std::move(options), clock, &pods);
  // The timer is a backstop for missed inotify events (e.g. a kubelet directory that appears
  // after start); inotify normally triggers the re-read within the poll period.
  trigger_ = std::make_unique<numa::RefreshTrigger>(paths.kubelet_root, std::chrono::seconds(30), clock);
  collector_ = std::make_shared<numa::NumaCollector>(*numa_, numa::VersionInfo::of_this_build());
}

void NumaSource::start() {
  if (auto loaded = numa_->load_topology(); !loaded) {
    spdlog::error("numa: cannot read the host topology: {}; NUMA metrics will have no capacity",
                  loaded.error().message);
  }
  numa_->refresh();
}

boost::asio::awaitable<void> NumaSource::run() {
  boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
  for (;;) {
    timer.expires_after(std::chrono::seconds(1));
    co_await timer.async_wait(boost::asio::use_awaitable);
    if (trigger_->poll()) {
      numa_->refresh();
    }
  }
}

void NumaSource::pods_changed() { numa_->rebuild(); }

boost::json::value NumaSource::debug_json() const { return numa::numa_debug_json(*numa_->snapshot()); }

boost::json::array NumaSource::zones_json() const { return numa::numa_zones_json(*numa_->snapshot()); }

}  // namespace nodepack::agent
