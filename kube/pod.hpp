#pragma once

// The parts of a core/v1 Pod that request accounting, DaemonSet overhead and per-pod metrics need.
// Parsed strictly where a wrong type would change a number, leniently (ignored) for unknown fields.

#include "common/result.hpp"
#include "kube/resource_list.hpp"

#include <boost/json/value.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nodepack::kube {

struct OwnerReference {
  std::string kind;
  std::string name;
};

struct Container {
  std::string name;
  ResourceList requests;
  ResourceList limits;
  // Only init containers carry one today; "Always" makes an init container a sidecar.
  std::optional<std::string> restart_policy;

  bool is_sidecar() const { return restart_policy == "Always"; }
};

// status.containerStatuses[].resources: what the runtime reports as actuated.
struct ContainerStatusResources {
  // Absent and empty differ: the scheduler falls back to allocatedResources only when absent.
  std::optional<ResourceList> requests;
  std::optional<ResourceList> limits;
};

struct ContainerStatus {
  std::string name;
  std::string container_id;
  std::int64_t restart_count = 0;
  std::optional<ResourceList> allocated_resources;
  std::optional<ContainerStatusResources> resources;
  // Which of state.running / waiting / terminated is set ("" when none), and for a running
  // container its state.running.startedAt (RFC 3339), for usage accounting.
  std::string state;
  std::string started_at;
};

struct PodCondition {
  std::string type;
  std::string status;
  std::string reason;
};

struct Pod {
  std::string uid;
  std::string name;
  std::string namespace_name;
  std::string node_name;  // empty while unscheduled
  std::string phase;      // Pending, Running, Succeeded, Failed, Unknown (empty if not reported yet)
  std::string resource_version;
  std::map<std::string, std::string, std::less<>> labels;  // as cgroup::LabelMap: pod scopes read it in place
  std::optional<std::string> deletion_timestamp;
  std::vector<OwnerReference> owner_references;

  std::vector<Container> containers;
  std::vector<Container> init_containers;
  ResourceList overhead;                           // spec.overhead
  std::optional<ResourceList> pod_level_requests;  // spec.resources.requests

  std::vector<ContainerStatus> container_statuses;
  std::vector<ContainerStatus> init_container_statuses;
  std::vector<PodCondition> conditions;

  bool is_terminating() const { return deletion_timestamp.has_value(); }
  bool is_daemonset() const;
  // Guaranteed QoS as the kubelet decides it: every container (init included) has cpu and memory
  // limits, and requests, where given, equal them.
  bool is_guaranteed() const;
  // The first PodResizePending condition has reason Infeasible: the kubelet will not actuate the
  // spec, so the scheduler stops counting it.
  bool resize_infeasible() const;
  // Status of the container or init container with this name, or nullptr.
  const ContainerStatus* find_status(std::string_view container_name) const;
  // "namespace/name", for messages.
  std::string key() const { return namespace_name + "/" + name; }
};

// Parses a core/v1 Pod. Missing optional fields are fine; a field of the wrong type or a request
// that is not a valid quantity fails with the field path and the pod's namespace/name.
Result<Pod> parse_pod(const boost::json::value& json);

}  // namespace nodepack::kube
