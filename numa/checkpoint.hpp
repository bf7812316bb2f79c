#pragma once

// Parsers for the kubelet's checkpoint files: cpu_manager_state, memory_manager_state and
// device-plugins/kubelet_internal_checkpoint. Each accepts every layout the kubelet has written
// and reports which layout's checksum verified, if any. A parser only reports: refusing content
// whose checksum does not match, as the kubelet does, is CheckpointFile's job.
//
// The kubelet's rule for a stored checksum of 0 (also what an absent field decodes to), per file:
//   - cpu_manager_state and memory_manager_state written without the "data" envelope: 0 means
//     "not checksummed" for the oldest layouts (CPU v1 and v2, memory v1: "accept empty checksum
//     for compatibility with old file backend"). Newer layouts (CPU v3, memory v2, the ones
//     with podEntries) verify without that exception, fail, and the kubelet falls back to the
//     oldest layout, which accepts the 0 but has no podEntries: it drops them. So do we.
//   - the same files with "data" (CPU v4, memory v3): the checksum of the data string must match,
//     0 included; the kubelet does not fall back once "data" is there.
//   - kubelet_internal_checkpoint: always verified, 0 included.

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
  mismatch,  // no known layout does: the kubelet refuses such a file, and so must its readers
  absent,    // checksum 0 or missing, in a layout for which the kubelet accepts that (see above)
};

std::string_view to_string(ChecksumStatus s);

struct ChecksumCheck {
  ChecksumStatus status = ChecksumStatus::absent;
  std::uint64_t stored = 0;
  std::string layout;                   // the layout that verified, e.g. "v2"
  std::vector<std::string> tried;       // layouts whose rendering was compared
  std::vector<std::uint32_t> computed;  // what each of them hashed to, as the kubelet reports it
  std::string note;                     // what the kubelet's reading changed, e.g. podEntries dropped
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

// CPU ids must be below `cpu_limit`: the machine's CPU count when known (the kubelet only ever
// names CPUs the machine has), else the hard cap. A larger id is invalid_cpuset.
ParseResult<CpuManagerState> parse_cpu_manager_state(std::string_view text, int cpu_limit = CpuSet::hard_cpu_limit);
ParseResult<MemoryManagerState> parse_memory_manager_state(std::string_view text);
ParseResult<DeviceCheckpoint> parse_device_checkpoint(std::string_view text);

}  // namespace nodepack::numa
