#pragma once

// The kubelet's pod-resources answers (podresources/api.proto, package v1) as plain structs,
// decoded from their protobuf bytes. Fields the agent does not use (dynamic resources, and any a
// later kubelet adds) are skipped as protobuf's own parsers skip unknown fields; a repeated
// scalar is read packed or not, and a message field given twice is merged, as the encoding's
// rules say. Bytes that break the wire format are an error, never a partial answer.

#include "common/result.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace nodepack::podresources {

struct TopologyInfo {
  std::vector<std::int64_t> nodes;  // NUMANode.ID of each node
};

struct ContainerDevices {
  std::string resource_name;
  std::vector<std::string> device_ids;
  TopologyInfo topology;
};

struct ContainerMemory {
  std::string memory_type;
  std::uint64_t size = 0;
  TopologyInfo topology;
};

struct ContainerResources {
  std::string name;
  std::vector<ContainerDevices> devices;
  std::vector<std::int64_t> cpu_ids;
  std::vector<ContainerMemory> memory;
};

struct PodResources {
  std::string name;
  std::string namespace_;
  std::vector<ContainerResources> containers;
};

struct ListPodResourcesResponse {
  std::vector<PodResources> pod_resources;
};

struct AllocatableResourcesResponse {
  std::vector<ContainerDevices> devices;
  std::vector<std::int64_t> cpu_ids;
  std::vector<ContainerMemory> memory;
};

Result<ListPodResourcesResponse> decode_list_response(std::string_view bytes);
Result<AllocatableResourcesResponse> decode_allocatable_response(std::string_view bytes);

}  // namespace nodepack::podresources
