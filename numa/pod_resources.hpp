#pragma once

// What the kubelet's pod-resources API (podresources.v1 over its unix socket) answered, in the
// NUMA model's terms, and how asking it went. The gRPC client that fills these lives in
// podresources/; nothing here knows gRPC.
//
// pod-resources is the kubelet's supported interface: the per-container CPUs, devices and
// memory it lists are what its managers hold, and its allocatable resources are what they may
// hand out. The checkpoint files are the managers' private state: the fallback when the socket is
// not there, and a cross-check when it is.

#include "numa/checkpoint.hpp"
#include "numa/cpuset.hpp"

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nodepack::numa {

// Devices of one resource, with the NUMA nodes the kubelet reports for them (empty: none).
struct DeviceGroup {
  std::string resource;
  std::vector<std::string> ids;
  std::vector<std::int64_t> numa_nodes;
  friend bool operator==(const DeviceGroup&, const DeviceGroup&) = default;
};

struct ContainerResources {
  std::string pod_namespace;
  std::string pod_name;
  std::string container;
  CpuSet cpus;                       // exclusive CPUs (static CPU policy)
  std::vector<MemoryBlock> memory;   // memory and hugepages per NUMA group (static memory policy)
  std::vector<DeviceGroup> devices;  // device-plugin devices
};

struct AllocatableResources {
  CpuSet cpus;                      // empty unless the CPU policy is static
  std::vector<MemoryBlock> memory;  // one block per node and type; empty unless the memory policy is static
  std::vector<DeviceGroup> devices;
};

struct PodResourcesAnswer {
  std::vector<ContainerResources> containers;
  // nullopt when the kubelet does not serve GetAllocatableResources (before 1.21, or gated off).
  std::optional<AllocatableResources> allocatable;
  std::chrono::system_clock::time_point taken_at;
};

// Why asking failed. Fixed, so the metric label values stay bounded.
enum class PodResourcesError {
  no_socket,      // nothing at the socket path: no kubelet, or one that does not serve it yet
  unavailable,    // a socket, but no answer: the kubelet restarts, or the socket is stale
  timeout,        // no answer within the deadline
  rate_limited,   // the kubelet's limiter refused (RESOURCE_EXHAUSTED): we poll too often
  unimplemented,  // the kubelet does not serve List
  bad_answer,     // an answer that does not decode, or names CPUs or NUMA nodes the machine lacks
  other,          // any other status (permission denied on the socket, ...)
};
inline constexpr std::array<PodResourcesError, 7> pod_resources_errors = {
    PodResourcesError::no_socket,    PodResourcesError::unavailable,   PodResourcesError::timeout,
    PodResourcesError::rate_limited, PodResourcesError::unimplemented, PodResourcesError::bad_answer,
    PodResourcesError::other};
std::string_view to_string(PodResourcesError e);

struct PodResourcesFailure {
  PodResourcesError reason = PodResourcesError::other;
  std::string message;  // what a person reads in the log and /debug/numa
};
std::ostream& operator<<(std::ostream& os, const PodResourcesFailure& f);
[[noreturn]] void throw_exception_from_error(const PodResourcesFailure& f, const boost::source_location&);

template <class T>
using PodResourcesResult = boost::system::result<T, PodResourcesFailure>;

// The source as the agent sees it over time, for /debug/numa and the metrics.
struct PodResourcesState {
  bool enabled = false;  // a socket path was given
  std::string socket;
  // "disabled", "waiting" (not asked yet), "ok" (the last answer is in use), "failing" (the
  // last attempt failed; the checkpoints are used, or the last good answer when they are not
  // there either).
  std::string status = "disabled";
  std::string reason;  // to_string() of the last failure, empty after a success
  std::string detail;
  std::optional<std::chrono::system_clock::time_point> last_attempt;
  std::optional<std::chrono::system_clock::time_point> last_success;
  std::uint64_t attempts_total = 0;
  std::map<std::string, std::uint64_t, std::less<>> errors_total;  // every reason, 0 included
  bool allocatable_served = false;                                 // the last answer had GetAllocatableResources

  bool fresh() const { return status == "ok"; }
};

}  // namespace nodepack::numa
