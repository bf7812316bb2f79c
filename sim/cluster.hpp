#pragma once

// A generated cluster for the simulator, tests and benchmarks: nodes with zone, instance-type and
// GPU labels and allocatable in varied quantity forms; pods of DaemonSets, Deployments and Jobs
// with init and sidecar containers, overhead and containerd statuses. Deterministic per seed.

#include "sim/fake_api_server.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <random>
#include <vector>

namespace nodepack::sim {

struct ClusterOptions {
  int nodes = 3;
  int pods_per_node = 12;  // DaemonSet pod included
};

struct Cluster {
  std::vector<boost::json::object> nodes;
  std::vector<boost::json::object> pods;
};

Cluster generate_cluster(const ClusterOptions& options, std::uint64_t seed);

// Loads a generated cluster into a server.
Result<void> load_cluster(FakeApiServer& server, const Cluster& cluster);

struct ChurnStats {
  int added = 0;
  int modified = 0;  // resized or finished
  int deleted = 0;
};

// Changes a running cluster the way a busy one changes: resizes requests, finishes pods
// (phase Succeeded), deletes pods and schedules new ones. DaemonSet pods are left alone.
class Churner {
 public:
  Churner(ClusterOptions options, std::uint64_t seed);
  ChurnStats step(FakeApiServer& server);

 private:
  ClusterOptions options_;
  std::mt19937_64 random_;
  int next_pod_ = 0;
};

}  // namespace nodepack::sim
