#pragma once

// Binding for the simulated cluster, in the one respect that decides how the cluster looks: a pod
// goes only to a node where it fits — its requests, computed by the scheduler's own rules
// (kube::compute_pod_requests), within allocatable minus what the node's pods hold, and one more
// pod within the node's pod count. What fits nowhere stays Pending with the message
// kube-scheduler writes ("0/3 nodes are available: 1 Insufficient memory, 2 Insufficient cpu.").

#include "kube/resource_list.hpp"
#include "sim/store.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace nodepack::sim {

struct Placement {
  std::optional<std::string> node;  // nullopt: fits nowhere
  std::string message;              // why, when it fits nowhere
};

class Scheduler {
 public:
  // The nodes and what the pods bound to them hold now.
  Scheduler(const std::vector<ObjectPtr>& nodes, const std::vector<ObjectPtr>& pods);

  // A node the pod fits on, chosen at random among the least allocated by cpu share (spreading,
  // as the default scoring roughly does), and books the pod there; or why there is none.
  Placement place(const boost::json::object& pod, std::mt19937_64& random);
  // Whether `pod`, already bound to `node`, would still fit with `requests` instead of what it
  // holds (an in-place resize), and books the change when it does.
  bool resize(const boost::json::object& before, const boost::json::object& after);
  // The pod no longer holds its requests (deleted, or finished).
  void release(const boost::json::object& pod);

  // Share of allocatable cpu requested on the node (0..1), for tests and the demo's tuning.
  double cpu_share(const std::string& node) const;
  // The same over the whole cluster.
  double cluster_cpu_share() const;

 private:
  struct NodeRoom {
    kube::ResourceList allocatable;
    kube::ResourceList held;
    std::int64_t pods = 0;
    std::int64_t max_pods = 110;
  };
  // The resources the pod lacks on the node ("Insufficient cpu", "Too many pods"); empty: it fits.
  std::vector<std::string> shortfalls(const NodeRoom& room, const kube::ResourceList& requests) const;

  std::map<std::string, NodeRoom> nodes_;
};

// The pod's requests as the scheduler counts them; nullopt when the pod does not parse or does not
// hold resources (Succeeded, Failed).
std::optional<kube::ResourceList> held_requests(const boost::json::object& pod);

}  // namespace nodepack::sim
