#pragma once

// The kubelet's decoded answers (podresources/messages.hpp) in the NUMA model's terms, checked on the way: a CPU id or
// NUMA id no machine can have makes the whole answer bad_answer, never a number.

#include "numa/pod_resources.hpp"
#include "podresources/messages.hpp"

#include <vector>

namespace nodepack::podresources {

numa::PodResourcesResult<std::vector<numa::ContainerResources>> containers_from(const ListPodResourcesResponse& r);
numa::PodResourcesResult<numa::AllocatableResources> allocatable_from(const AllocatableResourcesResponse& r);

}  // namespace nodepack::podresources
