#pragma once

// Joins the host's capacity (the kernel's NUMA nodes) with what the kubelet's CPU, memory and
// device managers have handed out, per NUMA node and per container. The kubelet gives two
// accounts of that: its pod-resources API (preferred) and its checkpoint files (the fallback).
// Which account each number came from is kept with the model.

#include "cgroup/pod_lookup.hpp"
#include "numa/checkpoint.hpp"
#include "numa/cpuset.hpp"
#include "numa/device_links.hpp"
#include "numa/placements.hpp"
#include "numa/pod_resources.hpp"
#include "numa/source_check.hpp"
#include "numa/topology.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nodepack::numa {

struct Amounts {
  std::uint64_t capacity = 0;
  std::uint64_t allocatable = 0;
  std::uint64_t allocation = 0;
  std::optional<std::uint64_t> free;  // hugepages: what the kernel says is free now
  friend bool operator==(const Amounts&, const Amounts&) = default;
};

struct NodeAllocation {
  unsigned id = 0;
  CpuSet capacity_cpus;                      // online CPUs of the node
  CpuSet reserved_cpus;                      // capacity the kubelet does not hand out
  CpuSet allocatable_cpus;                   // capacity minus reserved
  CpuSet exclusive_cpus;                     // pinned to containers or pods by the static CPU policy
  CpuSet shared_pool;                        // capacity minus exclusive: what the kubelet's defaultCpuSet holds
  Amounts memory;                            // bytes
  std::map<std::string, Amounts> hugepages;  // "hugepages-2Mi" -> bytes
  std::map<std::string, std::uint64_t> devices_allocated;    // resource -> devices
  std::map<std::string, std::uint64_t> devices_allocatable;  // resource -> devices (pod-resources, or checkpoint + PCI)
  std::vector<std::string> notes;                            // inconsistencies a person should know about
};

// Where a number came from.
enum class ValueSource {
  podresources,  // the kubelet's pod-resources API
  checkpoint,    // the kubelet's checkpoint files
  capacity,      // the node's capacity (minus --reserved-cpus): no account says more
  none,          // nothing handed out: no account, or the manager's policy is none
};
std::string_view to_string(ValueSource s);

// What build_allocation works from. Any pointer may be null.
struct AllocationInputs {
  const CpuManagerState* cpu = nullptr;  // the state in use of each checkpoint file
  const MemoryManagerState* memory = nullptr;
  const DeviceCheckpoint* devices = nullptr;
  // The pod-resources answer to use: the last one when it succeeded (the primary account), or the
  // last good one when both it and the checkpoints fail. Null otherwise.
  const PodResourcesAnswer* podresources = nullptr;
  // Which checkpoint accounts to compare with `podresources`: those whose content is current and
  // older than the answer (a file changed since was not seen by it yet).
  CompareScope compare;
};

struct AllocationModel {
  std::string cpu_policy = "none";
  std::string memory_policy = "none";
  std::vector<NodeAllocation> nodes;
  std::vector<ContainerPlacement> containers;
  std::vector<PodPlacement> pods;
  std::map<std::string, std::uint64_t> devices_without_affinity;  // resource -> allocated devices
  // resource -> allocatable devices on no NUMA node: no topology from pod-resources, or no PCI
  // device on a NUMA node that the checkpoint's registered id names.
  std::map<std::string, std::uint64_t> allocatable_without_affinity;
  std::map<std::string, std::uint64_t> devices_registered;  // resource -> devices
  std::size_t orphaned_containers = 0;
  ValueSource placements_source = ValueSource::none;  // who the containers' placements are from
  // (resource, type) -> source: ("cpu", "allocatable"), ("memory", "allocation"), ("hugepages",
  // ...), ("devices", ...).
  std::map<std::pair<std::string, std::string>, ValueSource> sources;
  SourceCheck check;         // pod-resources against the checkpoints, when both are there
  std::vector<PciLink> pci;  // every PCI device, with the resource that hands it out, if any
};

AllocationModel build_allocation(const Topology& topology, const AllocationInputs& inputs,
                                 const cgroup::PodLookup* pods, const CpuSet& reserved_cpus);

}  // namespace nodepack::numa
