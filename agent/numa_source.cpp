#include "agent/numa_source.hpp"

#include "numa/collector.hpp"
#include "numa/report.hpp"
#include "podresources/poller.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace nodepack::agent {

NumaSource::NumaSource(NumaSourceOptions options, const cgroup::PodLookup& pods, const Clock& clock)
    : options_(std::move(options)), clock_(clock) {
  numa::NumaOptions n;
  n.paths = options_.paths;
  n.node_name = options_.node_name;
  n.reserved_cpus = options_.reserved_cpus;
  n.podresources_socket = options_.podresources_socket;
  numa_ = std::make_unique<numa::NumaState>(std::move(n), clock, &pods);
  // The timer is a backstop for missed inotify events (e.g. a kubelet directory that appears
  // after start); inotify normally triggers the re-read within the poll period.
  trigger_ = std::make_unique<numa::RefreshTrigger>(options_.paths.kubelet_root, std::chrono::seconds(30), clock);
  collector_ = std::make_shared<numa::NumaCollector>(*numa_, numa::VersionInfo::of_this_build());
}

NumaSource::~NumaSource() { stop(); }

void NumaSource::start() {
  if (auto loaded = numa_->load_topology(); !loaded) {
    spdlog::error("numa: cannot read the host topology: {}; NUMA metrics will have no capacity",
                  loaded.error().message);
  }
  numa_->refresh();
}

boost::asio::awaitable<void> NumaSource::run() {
  auto executor = co_await boost::asio::this_coro::executor;
  if (!options_.podresources_socket.empty()) {
    podresources::PollerOptions p;
    p.client.socket = options_.podresources_socket;
    p.interval = options_.podresources_interval;
    p.min_gap = options_.podresources_min_gap;
    // Answers arrive on the poller's thread; the NUMA state is the io thread's.
    poller_ = std::make_unique<podresources::Poller>(
        std::move(p), clock_, [this, executor](numa::PodResourcesResult<numa::PodResourcesAnswer> result) {
          boost::asio::post(executor, [this, result = std::move(result)]() mutable {
            if (result) {
              numa_->podresources_answered(std::move(*result));
            } else {
              numa_->podresources_failed(result.error());
            }
          });
        });
    poller_->start();
  }
  boost::asio::steady_timer timer(executor);
  for (;;) {
    timer.expires_after(std::chrono::seconds(1));
    co_await timer.async_wait(boost::asio::use_awaitable);
    if (trigger_->poll() && numa_->refresh() && poller_) {
      poller_->nudge();  // the checkpoints changed: let pod-resources say the same, to compare
    }
  }
}

void NumaSource::pods_changed(const PodChanges&) {
  numa_->rebuild();
  if (poller_) {
    poller_->nudge();
  }
}

void NumaSource::stop() {
  if (poller_) {
    poller_->stop();
  }
}

boost::json::value NumaSource::debug_json() const { return numa::numa_debug_json(*numa_->snapshot()); }

boost::json::array NumaSource::zones_json() const { return numa::numa_zones_json(*numa_->snapshot()); }

}  // namespace nodepack::agent
