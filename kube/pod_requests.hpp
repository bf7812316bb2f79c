#pragma once

// What the scheduler counts a pod as requesting on its node: k8s.io/component-helpers/resource
// PodRequests as kube-scheduler calls it (in-place resize status considered, overhead included,
// no scoring defaults for containers without requests).

#include "common/result.hpp"
#include "kube/pod.hpp"
#include "kube/resource_list.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace nodepack::kube {

// How in-place resize status enters the sum.
//   per_container: each container counts max(spec, allocated, actuated) (Kubernetes up to 1.36).
//   max_of_sums:   three whole-pod aggregates (spec, allocated, actuated) and the per-resource max
//                  of those (Kubernetes 1.37 and later).
enum class ResizeSemantics { per_container, max_of_sums };

// "per-container" | "max-of-sums", the values of --resize-semantics.
Result<ResizeSemantics> parse_resize_semantics(std::string_view text);
std::string_view resize_semantics_name(ResizeSemantics semantics);

struct PodRequests {
  // The pod total, rounded once at the end: cpu up to whole millicores, everything else up to
  // whole units. Keys with a zero value are kept when some container names them.
  ResourceList requests;
  // One short line per rule that decided something, in the order applied, for /debug/pods.
  std::vector<std::string> reasons;
};

PodRequests compute_pod_requests(const Pod& pod, ResizeSemantics semantics = ResizeSemantics::per_container);

// One container's requests as the per-container rule counts them: max(spec, allocated, actuated)
// while an in-place resize is in flight, the spec alone for a regular init container.
ResourceList container_requests(const Pod& pod, const Container& container, bool is_init);

// Whether the pod holds its requests on the node: every phase but Succeeded and Failed, terminating
// pods included (they hold their resources until they are gone).
bool pod_counts_toward_node(const Pod& pod);

}  // namespace nodepack::kube
