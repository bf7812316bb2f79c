#pragma once

// What the fixtures' kubelet answers must decode to, whichever gRPC server sends them (gRPC's C++
// server in test_client.cpp, grpc-go in test_client_grpc_go.cpp): the numbers a person reads in
// tests/fixtures/podresources/*/list.json and allocatable.json.

#include "numa/pod_resources.hpp"

#include <catch2/catch.hpp>

namespace nodepack::testing {

// Why asking failed; the message goes to the test's log.
inline numa::PodResourcesError reason(const numa::PodResourcesResult<numa::PodResourcesAnswer>& r) {
  REQUIRE_FALSE(r.has_value());
  UNSCOPED_INFO(r.error().message);
  return r.error().reason;
}

// gb200-like/list.json and allocatable.json.
inline void check_gb200_like_answer(const numa::PodResourcesAnswer& answer) {
  REQUIRE(answer.containers.size() == 3);
  const auto& trainer = answer.containers[0];
  CHECK(trainer.pod_namespace == "ml");
  CHECK(trainer.pod_name == "train");
  CHECK(trainer.container == "trainer");
  CHECK(trainer.cpus.to_string() == "2-17");
  REQUIRE(trainer.memory.size() == 2);
  CHECK(trainer.memory[0] == numa::MemoryBlock{{0}, "memory", 64ull << 30});
  CHECK(trainer.memory[1] == numa::MemoryBlock{{0}, "hugepages-512Mi", 2ull << 30});
  REQUIRE(trainer.devices.size() == 2);
  CHECK(trainer.devices[1] == numa::DeviceGroup{"nvidia.com/gpu", {"GPU-6c8f2b6e-1a3d-4f0e-9b1a-2f7c0d5e8a02"}, {0}});
  CHECK(answer.containers[2].cpus.empty());  // the agent's own pod: nothing exclusive
  REQUIRE(answer.allocatable.has_value());
  CHECK(answer.allocatable->cpus.to_string() == "2-71,74-143");
  CHECK(answer.allocatable->memory.size() == 7);  // memory on nodes 0, 1, 2, 10, 18, 26; hugepages on 0
  CHECK(answer.allocatable->devices.size() == 4);
}

// 16em64t-4s2c2t/list.json from a kubelet that does not serve GetAllocatableResources.
inline void check_list_only_answer(const numa::PodResourcesAnswer& answer) {
  REQUIRE(answer.containers.size() == 3);
  CHECK_FALSE(answer.allocatable.has_value());
  // A device without topology has no NUMA affinity.
  REQUIRE_FALSE(answer.containers[2].devices.empty());
  CHECK(answer.containers[2].devices[0].numa_nodes.empty());
}

}  // namespace nodepack::testing
