#pragma once

// One kubelet checkpoint file as the agent sees it over time: read-only, never locked, size
// bounded; a bad read keeps the last good state; every outcome is kept for metrics and logs.

#include "common/clock.hpp"
#include "common/result.hpp"
#include "numa/checkpoint.hpp"

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace nodepack::numa {

inline constexpr std::size_t default_max_checkpoint_bytes = 16u << 20;

enum class FileStatus {
  missing,  // no file: the manager's policy is "none"
  valid,    // the current content parsed (see checksum for whether it verified)
  invalid,  // the current content did not parse; the last good state is still in use
};

std::string_view to_string(FileStatus s);

// Every reason a read counts as an error, each a label value of numainfo_checkpoint_errors_total.
inline constexpr std::array<CheckpointError, checkpoint_error_count> checkpoint_errors = {
    CheckpointError::oversized,      CheckpointError::read_error,     CheckpointError::parse_error,
    CheckpointError::unknown_layout, CheckpointError::invalid_cpuset, CheckpointError::checksum_mismatch};

struct FileState {
  std::string name;
  std::filesystem::path path;
  FileStatus status = FileStatus::missing;
  std::string reason;  // to_string() of a CheckpointError, or empty when all is well
  std::string detail;  // what a person reads in the log and /debug/numa
  std::string layout;  // of the state in use
  ChecksumStatus checksum = ChecksumStatus::absent;
  bool serving_last_good = false;
  std::optional<std::chrono::system_clock::time_point> last_read;  // every attempt
  std::optional<std::chrono::system_clock::time_point> last_good;  // the read of the state in use
  std::map<std::string, std::uint64_t, std::less<>> errors_total;  // counted once per content change

  // numainfo_checkpoint_valid: parsed and not contradicted by its checksum.
  bool healthy() const { return status == FileStatus::valid && checksum != ChecksumStatus::mismatch; }
};

enum class ReadOutcome { ok, missing, oversized, error };

// Reads at most max_bytes; a larger file is not read at all.
ReadOutcome read_bounded(const std::filesystem::path& path, std::size_t max_bytes, std::string& out,
                         std::string& error);

namespace detail {

// The non-template half of CheckpointFile: bookkeeping and logging.
class FileTracker {
 public:
  FileTracker(std::string name, std::filesystem::path path, const Clock& clock, std::size_t max_bytes);

  const FileState& state() const { return state_; }

 protected:
  enum class Step { unchanged, missing, failed, parse };
  // Reads the file and decides what to do; on Step::parse the content is in content_.
  Step read();
  void on_missing();
  void on_failure(CheckpointError reason, std::string detail);
  void on_parsed(const std::string& layout, const ChecksumCheck& check);
  void fail_parse(const CheckpointFailure& failure);

  std::string content_;

 private:
  void count(CheckpointError reason);

  FileState state_;
  const Clock& clock_;
  std::size_t max_bytes_;
  std::optional<std::string> last_content_;  // last content processed, good or bad
};

}  // namespace detail

template <class T>
class CheckpointFile : public detail::FileTracker {
 public:
  using Parser = ParseResult<T> (*)(std::string_view);

  CheckpointFile(std::string name, std::filesystem::path path, Parser parser, const Clock& clock,
                 std::size_t max_bytes = default_max_checkpoint_bytes)
      : FileTracker(std::move(name), std::move(path), clock, max_bytes), parser_(parser) {}

  // Reads the file again; true when the state in use changed.
  bool refresh() {
    switch (read()) {
      case Step::unchanged:
      case Step::failed:
        return false;
      case Step::missing: {
        const bool changed = current_.has_value();
        current_.reset();
        on_missing();
        return changed;
      }
      case Step::parse:
        break;
    }
    auto parsed = parser_(content_);
    if (!parsed) {
      fail_parse(parsed.error());
      return false;
    }
    on_parsed(parsed->layout, parsed->checksum);
    current_ = std::move(*parsed);
    return true;
  }

  // The state in use: the last good one, or nullptr when the file is missing.
  const T* current() const { return current_ ? &*current_ : nullptr; }

 private:
  Parser parser_;
  std::optional<T> current_;
};

}  // namespace nodepack::numa
