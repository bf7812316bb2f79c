#pragma once

// Self metrics of the Kubernetes side: per-watch state and API request counts. These are what an
// operator looks at when kube_binpacking_cache_age_seconds grows.

#include "kube/api_client.hpp"
#include "kube/reflector.hpp"

#include <prometheus/collectable.h>

#include <vector>

namespace nodepack::kube {

class WatchCollector final : public prometheus::Collectable {
 public:
  WatchCollector(std::vector<const Reflector*> reflectors, const ApiClient& client);
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::vector<const Reflector*> reflectors_;
  const ApiClient& client_;
};

}  // namespace nodepack::kube
