#pragma once

// The API server's /version, and which in-place resize rule its scheduler uses. The scheduler
// aggregates a pod under in-place resize as the per-resource maximum of three whole-pod sums
// (desired, allocated, actuated) from Kubernetes 1.37; before, as the sum of per-container maxima
// (kubernetes/kubernetes#140046). A cluster that backports the change is told by the explicit
// --resize-semantics values instead.

#include "common/result.hpp"
#include "kube/pod_requests.hpp"

#include <boost/json/value.hpp>

#include <string>
#include <string_view>

namespace nodepack::kube {

struct ServerVersion {
  int major = 0;
  int minor = 0;
  std::string git_version;  // "v1.37.2-gke.100", for messages
};

// {"major":"1","minor":"37+","gitVersion":"v1.37.2-eks-..."}: providers append '+' to minor; the
// leading digits count. Falls back to gitVersion when major or minor is empty.
Result<ServerVersion> parse_server_version(const boost::json::value& json);

// The rule the scheduler of that release applies.
ResizeSemantics semantics_for(const ServerVersion& version);

// --resize-semantics: auto (from /version), or one rule fixed by the operator.
enum class ResizeSetting { automatic, per_container, max_of_sums };
Result<ResizeSetting> parse_resize_setting(std::string_view text);
std::string_view resize_setting_name(ResizeSetting setting);

}  // namespace nodepack::kube
