#pragma once

// A generated cluster for the simulator, tests and benchmarks: nodes with zone, instance-type and
// GPU labels and allocatable in varied quantity forms; pods of DaemonSets, Deployments,
// StatefulSets and Jobs with init and sidecar containers, overhead and containerd statuses, bound
// by sim/scheduler.hpp only where they fit (the rest Pending, with the scheduler's reason), so the
// cluster is packed as real ones are. Deterministic per seed.

#include "sim/fake_api_server.hpp"

#include <boost/json/object.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <vector>

namespace nodepack::sim {

struct ClusterOptions {
  int nodes = 3;
  int pods_per_node = 12;  // DaemonSet pod included
  // Called on each generated Node before any pod is scheduled, e.g. to give it a machine's CPUs.
  std::function<void(boost::json::object& node)> shape_node;
  // When above 0: more workloads, beyond pods_per_node, until this share of the cluster's
  // allocatable cpu is requested (or pods stop fitting), so large machines are packed too.
  double fill_cpu = 0;
  // When above 0: every pod padded to about this many bytes of JSON, as real ones are
  // (sim/pod_bulk.hpp), the churner's new pods too.
  std::size_t pod_bytes = 0;
};

struct Cluster {
  std::vector<boost::json::object> nodes;
  std::vector<boost::json::object> pods;
};

Cluster generate_cluster(const ClusterOptions& options, std::uint64_t seed);

// Loads a generated cluster into a server.
Result<void> load_cluster(FakeApiServer& server, const Cluster& cluster);

// For a stored pod the scheduler could not place: the FailedScheduling Event kube-scheduler
// writes (kubectl describe pod shows it). Nothing for other pods.
void record_scheduling_failure(FakeApiServer& server, const boost::json::object& pod);

struct ChurnStats {
  int added = 0;
  int modified = 0;  // resized or finished
  int deleted = 0;
};

class Scheduler;

// Changes a running cluster the way a busy one changes: resizes requests where they still fit,
// finishes pods (phase Succeeded), deletes pods, creates new ones and binds them where they fit,
// and retries what waits. DaemonSet pods are left alone.
class Churner {
 public:
  Churner(ClusterOptions options, std::uint64_t seed);
  ~Churner();
  ChurnStats step(FakeApiServer& server);

 private:
  ClusterOptions options_;
  std::mt19937_64 random_;
  std::mt19937_64 bulk_random_;  // apart, so padding leaves a seed's churn as it was
  int next_pod_ = 0;
  std::uint32_t next_ip_ = 1U << 22;  // churned pods' IPs: 10.192.0.0/10, apart from the generated ones
  std::unique_ptr<Scheduler> scheduler_;
  int steps_since_recount_ = 0;
};

}  // namespace nodepack::sim
