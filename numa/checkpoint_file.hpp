#pragma once

// One kubelet checkpoint file as the agent sees it over time: read-only, never locked, size
// bounded; a bad read keeps the last good state; every outcome is kept for metrics and logs.
//
// One rule decides what is used, and the metric, /debug/numa and the numbers all follow it: the
// current content is used (status valid, numainfo_checkpoint_valid 1) only when it parsed and
// its checksum verified, or it carries none in a layout for which the kubelet accepts that.
// Content whose checksum matches no layout is refused as the kubelet refuses it, exactly like
// content that does not parse (status invalid, reason checksum_mismatch, valid 0): the last good
// state stays in use, or none.

#include "common/clock.hpp"
#include "common/result.hpp"
#include "numa/checkpoint.hpp"

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace nodepack::numa {

inline constexpr std::size_t default_max_checkpoint_bytes = 16u << 20;

enum class FileStatus {
  missing,  // no file: the manager's policy is "none"
  valid,    // the current content is in use: it parsed, and its checksum verified or is absent
  invalid,  // the current content is not used (unreadable, unparsable, checksum mismatch); the
            // last good state, if any, is
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
  // Layout and checksum are those of the state in use (the last good one while invalid), so the
  // checksum is never a mismatch.
  std::string layout;
  ChecksumStatus checksum = ChecksumStatus::absent;
  bool serving_last_good = false;
  std::optional<std::chrono::system_clock::time_point> last_read;  // every attempt
  std::optional<std::chrono::system_clock::time_point> last_good;  // the read of the state in use
  std::map<std::string, std::uint64_t, std::less<>> errors_total;  // counted once per content change

  // numainfo_checkpoint_valid: the current content is the state in use.
  bool healthy() const { return status == FileStatus::valid; }
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
  // Parses the content again at the next refresh even if it did not change: the parser's bounds
  // changed (the machine's CPU count became known).
  void reparse_next() { last_content_.reset(); }

 protected:
  enum class Step { unchanged, missing, failed, parse };
  // Reads the file and decides what to do; on Step::parse the content is in content_.
  Step read();
  void on_missing();
  void on_failure(CheckpointError reason, std::string detail);
  void on_parsed(const std::string& layout, const ChecksumCheck& check);
  void fail_parse(const CheckpointFailure& failure);
  // Parsed, but the stored checksum matches no layout: refused like a parse error.
  void refuse_checksum(const ChecksumCheck& check);

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
  using Parser = std::function<ParseResult<T>(std::string_view)>;

  CheckpointFile(std::string name, std::filesystem::path path, Parser parser, const Clock& clock,
                 std::size_t max_bytes = default_max_checkpoint_bytes)
      : FileTracker(std::move(name), std::move(path), clock, max_bytes), parser_(std::move(parser)) {}

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
    if (parsed->checksum.status == ChecksumStatus::mismatch) {
      refuse_checksum(parsed->checksum);
      return false;
    }
    on_parsed(parsed->layout, parsed->checksum);
    current_ = std::move(*parsed);
    return true;
  }

  // The state in use: the last good one, or nullptr when the file is missing or nothing good
  // was read yet.
  const T* current() const { return current_ ? &*current_ : nullptr; }

 private:
  Parser parser_;
  std::optional<T> current_;
};

}  // namespace nodepack::numa
