#pragma once

// The kubelet's protobuf answers in the NUMA model's terms, checked on the way: a CPU id or NUMA
// id no machine can have makes the whole answer bad_answer, never a number.

#include "numa/pod_resources.hpp"
#include "podresources/api.pb.h"

#include <vector>

namespace nodepack::podresources {

numa::PodResourcesResult<std::vector<numa::ContainerResources>> containers_from(const v1::ListPodResourcesResponse& r);
numa::PodResourcesResult<numa::AllocatableResources> allocatable_from(const v1::AllocatableResourcesResponse& r);

}  // namespace nodepack::podresources
