#include "agent/numa_source.hpp"

#include "agent/process_collector.hpp"
#include "numa/collector.hpp"
#include "numa/report.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace nodepack::agent {

bool is_guaranteed(const kube::Pod& pod) {
  const auto guaranteed = [](const kube::Container& c) {
    for (const char* resource : {"cpu", "memory"}) {
      const auto limit = c.limits.find(resource);
      if (limit == c.limits.end() || limit->second.is_zero()) {
        return false;
      }
      const auto request = c.requests.find(resource);
      if (request != c.requests.end() && !(request->second == limit->second)) {
        return false;
      }
    }
    return true;
  };
  if (pod.containers.empty()) {
    return false;
  }
  for (const auto* list : {&pod.containers, &pod.init_containers}) {
    for (const auto& c : *list) {
      if (!guaranteed(c)) {
        return false;
      }
    }
  }
  return true;
}

std::optional<numa::PodName> NumaSource::PodNames::find(std::string_view pod_uid) const {
  auto stored = state_.pods().find(std::string(pod_uid));
  if (!stored) {
    return std::nullopt;
  }
  return numa::PodName{stored->pod.namespace_name, stored->pod.name, is_guaranteed(stored->pod)};
}

NumaSource::NumaSource(const NodeState& state, HostPaths paths, numa::CpuSet reserved_cpus, const Clock& clock)
    : state_(state), names_(state) {
  numa::NumaOptions options;
  options.paths = paths;
  options.node_name = state.node_name();
  options.reserved_cpus = std::move(reserved_cpus);
  numa_ = std::make_unique<numa::NumaState>(std::move(options), clock, &names_);
  // The timer is a backstop for missed inotify events (e.g. a kubelet directory that appears
  // after start); inotify normally triggers the re-read within the poll period.
  trigger_ = std::make_unique<numa::RefreshTrigger>(paths.kubelet_root, std::chrono::seconds(30), clock);
  collector_ = std::make_shared<numa::NumaCollector>(
      *numa_, numa::VersionInfo{"main", metrics::compiler_version(), "", metrics::nodepack_revision(),
                                metrics::nodepack_version()});
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
  std::uint64_t seen_pods = state_.pods().totals().generation;
  for (;;) {
    timer.expires_after(std::chrono::seconds(1));
    co_await timer.async_wait(boost::asio::use_awaitable);
    const bool files_changed = trigger_->poll() && numa_->refresh();
    const auto pods_generation = state_.pods().totals().generation;
    if (!files_changed && pods_generation != seen_pods) {
      numa_->rebuild();  // new pod names for existing entries, or entries now orphaned
    }
    seen_pods = pods_generation;
  }
}

boost::json::value NumaSource::debug_json() const { return numa::numa_debug_json(*numa_->snapshot()); }

boost::json::array NumaSource::zones_json() const { return numa::numa_zones_json(*numa_->snapshot()); }

}  // namespace nodepack::agent
