#pragma once

// The accounting state file: every container's integrals and the time they were integrated up
// to, so a restarted agent continues its counters instead of starting from zero. Written
// atomically and durably (a temporary file in the same directory, fsync, rename, fsync of the
// directory), readable by its owner only (0600); a failed write leaves no temporary file.

#include "agent/accounting/exact_integral.hpp"
#include "common/result.hpp"

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nodepack::agent::accounting {

struct StoredContainer {
  std::string pod_uid;
  std::string container;
  std::string namespace_name;
  std::string pod;
  std::chrono::system_clock::time_point integrated_until;
  ExactIntegral cpu_requested;
  std::optional<ExactIntegral> cpu_limited;  // absent: the container never had a CPU limit
  ExactIntegral memory_requested;
  std::optional<ExactIntegral> memory_used;  // absent: never sampled
  std::map<std::string, ExactIntegral> gpu_seconds;
  friend bool operator==(const StoredContainer&, const StoredContainer&) = default;
};

struct StoredState {
  std::string node;
  std::chrono::system_clock::time_point written;
  std::vector<StoredContainer> containers;
};

inline constexpr int state_file_version = 1;

std::string render_state(const StoredState& state);
Result<StoredState> parse_state(std::string_view text);

// Missing file: an empty optional (first start), not an error.
Result<std::optional<StoredState>> read_state_file(const std::filesystem::path& path);
Result<void> write_state_file(const std::filesystem::path& path, const StoredState& state);

}  // namespace nodepack::agent::accounting
