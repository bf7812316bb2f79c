#pragma once

// Parsers for the kubelet's checkpoint files: cpu_manager_state, memory_manager_state and
// device-plugins/kubelet_internal_checkpoint. Each accepts every layout the kubelet has written
// and reports which layout's checksum verified, if any.

#include "common/result.hpp"
#include "numa/cpuset.hpp"

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace nodepack::numa {

enum class ChecksumStatus {
  verified,  // one known layout reproduces the stored checksum
  mismatch,  // no known layout does: content is used, and flagged
  absent,    // checksum 0 or missing, which the kubelet also accepts
};

std::string_view to_string(ChecksumStatus s);

struct ChecksumCheck {
  ChecksumStatus status = ChecksumStatus::absent;
  std::uint64_t stored = 0;
  std::string layout;              // the layout that verified, e.g. "v2"
  std::vector<std::string> tried;  // layouts whose rendering was compared
};

struct CpuManagerState {
  std::string layout;  // "v1" (pre-1.18, keyed by container id), "v2", "v3", "v4-data"
  std::string policy_name;
  CpuSet default_cpu_set;
  // pod UID -> container name -> exclusive CPUs.
  std::map<std::string, std::map<std::string, CpuSet>> entries;
  // Pre-1.18 layout only: container id -> CPUs, the pod unknown.
  std::map<std::string, CpuSet> container_id_entries;
  // Pod-level assignments (podEntries): pod UID -> CPUs.
  std::map<std::string, CpuSet> pod_entries;
  ChecksumCheck checksum;
};

struct MemoryTable {
  std::uint64_t total = 0;
  std::uint64_t system_reserved = 0;
  std::uint64_t allocatable = 0;
  std::uint64_t reserved = 0;
  std::uint64_t free = 0;
  friend bool operator==(const MemoryTable&, const MemoryTable&) = default;
};

struct NumaMemoryState {
  std::int64_t number_of_assignments = 0;
  std::map<std::string, MemoryTable> memory_map;  // "memory", "hugepages-2Mi", ...
  std::vector<int> cells;                         // NUMA nodes grouped with this one ("nodes" in old files)
};

struct MemoryBlock {
  std::vector<int> numa_affinity;
  std::string type;  // "memory", "hugepages-1Gi", ...
  std::uint64_t size = 0;
  friend bool operator==(const MemoryBlock&, const MemoryBlock&) = default;
};

struct MemoryManagerState {
  std::string layout;  // "v1", "v2", "v3-data"
  std::string policy_name;
  std::map<int, NumaMemoryState> machine_state;
  std::map<std::string, std::map<std::string, std::vector<MemoryBlock>>> entries;
  std::map<std::string, std::vector<MemoryBlock>> pod_entries;
  ChecksumCheck checksum;
};

// NUMA id a device reported; -1 = the device plugin gave no affinity.
inline constexpr std::int64_t no_numa_affinity = -1;

struct PodDevicesEntry {
  std::string pod_uid;
  std::string container_name;
  std::string resource_name;
  std::map<std::int64_t, std::vector<std::string>> device_ids;  // NUMA id -> device ids
};

struct DeviceCheckpoint {
  std::string layout;  // "v1" (k8s <= 1.19, no topology) or "v2"
  std::vector<PodDevicesEntry> entries;
  std::map<std::string, std::vector<std::string>> registered_devices;
  ChecksumCheck checksum;
};

// Why a checkpoint read could not be used. Fixed, so the metric label values stay bounded.
enum class CheckpointError {
  oversized,          // larger than the reader's bound; not read at all
  read_error,         // open or read failed
  parse_error,        // not JSON, truncated, half-written
  unknown_layout,     // JSON of no shape any kubelet writes
  invalid_cpuset,     // a CPU list that does not parse
  checksum_mismatch,  // parsed, but the stored checksum matches no known layout
};
inline constexpr std::size_t checkpoint_error_count = 6;
std::string_view to_string(CheckpointError e);

struct CheckpointFailure {
  CheckpointError reason;
  std::string message;  // what a person reads in the log and /debug/numa
};
std::ostream& operator<<(std::ostream& os, const CheckpointFailure& f);
[[noreturn]] void throw_exception_from_error(const CheckpointFailure& f, const boost::source_location&);

template <class T>
using ParseResult = boost::system::result<T, CheckpointFailure>;

ParseResult<CpuManagerState> parse_cpu_manager_state(std::string_view text);
ParseResult<MemoryManagerState> parse_memory_manager_state(std::string_view text);
ParseResult<DeviceCheckpoint> parse_device_checkpoint(std::string_view text);

}  // namespace nodepack::numa
