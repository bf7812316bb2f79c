#pragma once

// Who holds what, per container, from either of the kubelet's two accounts: its checkpoint files
// or its pod-resources API. Both become the same shape, with per-NUMA tallies that can be
// compared number for number.

#include "cgroup/pod_lookup.hpp"
#include "numa/checkpoint.hpp"
#include "numa/cpuset.hpp"
#include "numa/pod_resources.hpp"
#include "numa/topology.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace nodepack::numa {

// Who a placement belongs to, named through the agent's pod store by UID, or by pod-resources.
struct PodName {
  std::string namespace_name;
  std::string name;
  std::optional<bool> guaranteed;  // Guaranteed QoS class, when the lookup knows it
};

struct DevicePlacement {
  std::string resource;
  std::vector<std::string> ids;
  std::set<std::int64_t> numa_nodes;  // may hold no_numa_affinity
};

struct ContainerPlacement {
  // Empty for pre-1.18 cpu entries, which name a container id only, and for pod-resources, which
  // names pods by namespace and name (then in `pod`).
  std::string pod_uid;
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

struct PodPlacement {  // pod-level assignments (podEntries): the checkpoint's alone
  std::string pod_uid;
  std::optional<PodName> pod;
  bool orphaned = false;
  CpuSet cpus;
  std::vector<MemoryBlock> memory;
  std::set<std::int64_t> numa_nodes;
};

// What the containers hold per NUMA node, in the terms both accounts share: the numbers the
// cross-check compares. Pod-level entries are left out (pod-resources does not list them).
struct NumaTally {
  std::map<unsigned, CpuSet> exclusive_cpus;  // node -> exclusive CPUs on it
  // memory type ("memory", "hugepages-2Mi") -> NUMA nodes a block spans -> bytes. A block over
  // two nodes is one group: neither account says how it splits between them.
  std::map<std::string, std::map<std::vector<int>, std::uint64_t>> memory;
  // device resource -> NUMA node (no_numa_affinity for none) -> devices
  std::map<std::string, std::map<std::int64_t, std::uint64_t>> devices;
};

struct Placements {
  std::vector<ContainerPlacement> containers;  // in a stable order (pod, container)
  std::vector<PodPlacement> pods;
  CpuSet exclusive;  // every exclusive CPU, containers' and pods'
  NumaTally tally;
  std::map<std::string, std::uint64_t> devices_without_affinity;  // resource -> allocated devices
};

// `cpu` and `memory` only when their policy is static (the caller decides); any may be null.
Placements placements_from_checkpoints(const Topology& topology, const CpuManagerState* cpu,
                                       const MemoryManagerState* memory, const DeviceCheckpoint* devices);
Placements placements_from_pod_resources(const Topology& topology, const PodResourcesAnswer& answer);

// Names each placement through `pods` (may be null), decides alignment and orphans; returns how
// many containers are orphaned.
std::size_t resolve_placements(Placements& p, const Topology& topology, const cgroup::PodLookup* pods);

}  // namespace nodepack::numa
