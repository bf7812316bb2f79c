#pragma once

// Joins the host's capacity (hwloc) with what the kubelet's CPU, memory and device managers
// have handed out (their checkpoints), per NUMA node and per container.

#include "cgroup/pod_lookup.hpp"
#include "numa/checkpoint.hpp"
#include "numa/cpuset.hpp"
#include "numa/topology.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace nodepack::numa {

// Who a checkpoint entry belongs to, named through the agent's pod store by UID.
struct PodName {
  std::string namespace_name;
  std::string name;
  std::optional<bool> guaranteed;  // Guaranteed QoS class, when the lookup knows it
};

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
  CpuSet reserved_cpus;                      // the kubelet's reserved CPUs on this node (from options)
  CpuSet allocatable_cpus;                   // capacity minus reserved
  CpuSet exclusive_cpus;                     // pinned to containers or pods by the static CPU policy
  CpuSet shared_pool;                        // capacity minus exclusive: what the kubelet's defaultCpuSet holds
  Amounts memory;                            // bytes
  std::map<std::string, Amounts> hugepages;  // "hugepages-2Mi" -> bytes
  std::map<std::string, std::uint64_t> devices_allocated;  // resource -> devices
  std::vector<std::string> notes;                          // inconsistencies a person should know about
};

struct DevicePlacement {
  std::string resource;
  std::vector<std::string> ids;
  std::set<std::int64_t> numa_nodes;  // may hold no_numa_affinity
};

struct ContainerPlacement {
  std::string pod_uid;    // empty for pre-1.18 cpu entries, which name a container id only
  std::string container;  // container name (or id, see above)
  std::optional<PodName> pod;
  bool orphaned = false;    // the pod directory knows no such pod
  bool guaranteed = false;  // as the directory says, else inferred (only Guaranteed pods get pinned)
  CpuSet cpus;
  std::vector<MemoryBlock> memory;
  std::vector<DevicePlacement> devices;
  std::set<std::int64_t> numa_nodes;  // every NUMA node its CPUs, memory and devices are on
  bool aligned = false;               // all of them on one NUMA node
};

struct PodPlacement {  // pod-level assignments (podEntries)
  std::string pod_uid;
  std::optional<PodName> pod;
  bool orphaned = false;
  CpuSet cpus;
  std::vector<MemoryBlock> memory;
  std::set<std::int64_t> numa_nodes;
};

struct AllocationModel {
  std::string cpu_policy = "none";
  std::string memory_policy = "none";
  std::vector<NodeAllocation> nodes;
  std::vector<ContainerPlacement> containers;  // sorted by pod UID, container
  std::vector<PodPlacement> pods;
  std::map<std::string, std::uint64_t> devices_without_affinity;  // resource -> allocated devices
  std::map<std::string, std::uint64_t> devices_registered;        // resource -> devices
  std::size_t orphaned_containers = 0;
};

// Any pointer may be null: a missing checkpoint means the manager's policy is none.
AllocationModel build_allocation(const Topology& topology, const CpuManagerState* cpu, const MemoryManagerState* memory,
                                 const DeviceCheckpoint* devices, const cgroup::PodLookup* pods,
                                 const CpuSet& reserved_cpus);

}  // namespace nodepack::numa
