#include "agent/kernel_source.hpp"

#include <spdlog/spdlog.h>
#include <boost/json/object.hpp>

namespace nodepack::agent {

KernelSource::KernelSource(kpod::RegistryOptions options, cgroup::CgroupResolver* resolver, std::string no_cgroups,
                           std::unique_ptr<KernelBackend> backend)
    : backend_(std::move(backend)), metrics_(std::make_shared<metrics::MetricsRegistry>()) {
  options.skip_cgroups = backend_->skip_cgroups();
  std::optional<std::string> unusable;
  if (resolver == nullptr) {
    unusable = std::move(no_cgroups);
  }
  registry_ = std::make_unique<kpod::CollectorRegistry>(std::move(options), resolver, backend_->collectors(),
                                                        std::move(unusable));
  metrics_->add_unowned(*registry_);
  if (auto own = backend_->collector()) {
    metrics_->add(std::move(own));
  }
}

void KernelSource::start() {
  if (!backend_->has_bpf()) {
    spdlog::warn("this nodepack was built without BPF support: kpod_* metrics from cgroup files only");
  }
  registry_->start();
  backend_->started(*registry_);
}

boost::asio::awaitable<void> KernelSource::run() { co_await backend_->run(); }

void KernelSource::pods_changed(const PodChanges& changes) {
  if (changes.all) {
    registry_->rescan();
  } else {
    registry_->rescan_pods(changes.uids);
  }
}

std::optional<kpod::TopologySnapshot> KernelSource::topology() const {
  auto* view = dynamic_cast<kpod::TopologyView*>(registry_->find("topology"));
  if (view == nullptr) {
    return std::nullopt;
  }
  return view->topology();
}

boost::json::value KernelSource::debug_json() const {
  boost::json::object collectors;
  for (const auto& [name, up] : registry_->status()) {
    collectors[name] = up;
  }
  return boost::json::object{{"bpf", backend_->has_bpf()}, {"collectors", std::move(collectors)}};
}

}  // namespace nodepack::agent
