#include "numa/checkpoint_file.hpp"

#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>

namespace nodepack::numa {

std::string_view to_string(FileStatus s) {
  switch (s) {
    case FileStatus::missing:
      return "missing";
    case FileStatus::valid:
      return "valid";
    case FileStatus::invalid:
      return "invalid";
  }
  return "unknown";
}

ReadOutcome read_bounded(const std::filesystem::path& path, std::size_t max_bytes, std::string& out,
                         std::string& error) {
  out.clear();
  // O_NONBLOCK: a FIFO planted at the path must not hang the agent.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return ReadOutcome::missing;
    }
    error = std::string("open: ") + std::strerror(errno);
    return ReadOutcome::error;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    error = "not a regular file";
    ::close(fd);
    return ReadOutcome::error;
  }
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes) {
    ::close(fd);
    error = std::to_string(st.st_size) + " bytes, limit " + std::to_string(max_bytes);
    return ReadOutcome::oversized;
  }
  // The file may grow between fstat and read: read one byte past the limit to notice.
  out.resize(static_cast<std::size_t>(st.st_size) + 1);
  std::size_t used = 0;
  for (;;) {
    if (used == out.size()) {
      if (out.size() > max_bytes) {
        ::close(fd);
        out.clear();
        error = "grew past the limit of " + std::to_string(max_bytes) + " bytes while reading";
        return ReadOutcome::oversized;
      }
      out.resize(std::min(out.size() * 2, max_bytes + 1));
    }
    const ssize_t n = ::read(fd, out.data() + used, out.size() - used);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      error = std::string("read: ") + std::strerror(errno);
      ::close(fd);
      out.clear();
      return ReadOutcome::error;
    }
    if (n == 0) {
      break;
    }
    used += static_cast<std::size_t>(n);
  }
  ::close(fd);
  out.resize(used);
  return ReadOutcome::ok;
}

namespace detail {

FileTracker::FileTracker(std::string name, std::filesystem::path path, const Clock& clock, std::size_t max_bytes)
    : clock_(clock), max_bytes_(max_bytes) {
  state_.name = std::move(name);
  state_.path = std::move(path);
  for (auto reason : checkpoint_errors) {
    state_.errors_total.emplace(std::string(to_string(reason)), 0);
  }
}

FileTracker::Step FileTracker::read() {
  state_.last_read = clock_.now();
  std::string error;
  switch (read_bounded(state_.path, max_bytes_, content_, error)) {
    case ReadOutcome::missing:
      return Step::missing;
    case ReadOutcome::oversized:
      on_failure(CheckpointError::oversized, "file is oversized: " + error);
      return Step::failed;
    case ReadOutcome::error:
      on_failure(CheckpointError::read_error, error);
      return Step::failed;
    case ReadOutcome::ok:
      break;
  }
  if (last_content_ && *last_content_ == content_) {
    return Step::unchanged;
  }
  last_content_ = content_;
  return Step::parse;
}

void FileTracker::count(CheckpointError reason) {
  auto it = state_.errors_total.find(to_string(reason));
  if (it != state_.errors_total.end()) {
    ++it->second;
  }
}

void FileTracker::on_missing() {
  if (state_.status != FileStatus::missing) {
    spdlog::info("numa: {} is missing at {}: treating its policy as none", state_.name, state_.path.string());
  }
  last_content_.reset();
  state_.status = FileStatus::missing;
  state_.reason.clear();
  state_.detail = "file not found";
  state_.layout.clear();
  state_.checksum = ChecksumStatus::absent;
  state_.serving_last_good = false;
}

void FileTracker::on_failure(CheckpointError reason, std::string detail) {
  // Read failures have no content to compare, so log and count when the failure changes.
  const bool changed =
      state_.status != FileStatus::invalid || state_.reason != to_string(reason) || state_.detail != detail;
  last_content_.reset();
  if (changed) {
    count(reason);
    spdlog::warn("numa: {}: {} ({}){}", state_.path.string(), to_string(reason), detail,
                 state_.last_good ? "; keeping the last good state" : "");
  }
  state_.status = FileStatus::invalid;
  state_.reason = std::string(to_string(reason));
  state_.detail = std::move(detail);
  state_.serving_last_good = state_.last_good.has_value();
}

void FileTracker::fail_parse(const CheckpointFailure& failure) {
  // A new content was seen (read() checked), so this is a change: always count and log.
  count(failure.reason);
  spdlog::warn("numa: {}: {}{}", state_.path.string(), failure.message,
               state_.last_good ? "; keeping the last good state" : "");
  state_.status = FileStatus::invalid;
  state_.reason = std::string(to_string(failure.reason));
  state_.detail = failure.message;
  state_.serving_last_good = state_.last_good.has_value();
}

void FileTracker::refuse_checksum(const ChecksumCheck& check) {
  // The kubelet's words for it: expected (stored) and actual (computed) checksums.
  std::string computed;
  for (std::size_t i = 0; i < check.tried.size() && i < check.computed.size(); ++i) {
    computed += (computed.empty() ? "" : ", ") + check.tried[i] + " computes " + std::to_string(check.computed[i]);
  }
  fail_parse(CheckpointFailure{CheckpointError::checksum_mismatch,
                               "checksum_mismatch: stored checksum " + std::to_string(check.stored) +
                                   " matches no known layout (" + (computed.empty() ? "none applies" : computed) +
                                   "); the kubelet refuses such a file, so its content is not used"});
}

void FileTracker::on_parsed(const std::string& layout, const ChecksumCheck& check) {
  state_.status = FileStatus::valid;
  state_.layout = layout;
  state_.checksum = check.status;
  state_.serving_last_good = false;
  state_.last_good = state_.last_read;
  if (!state_.reason.empty()) {
    spdlog::info("numa: {} is good again (layout {})", state_.path.string(), layout);
  }
  state_.reason.clear();
  state_.detail = check.status == ChecksumStatus::verified
                      ? "checksum verified as layout " + check.layout
                      : std::string("no checksum stored, which the kubelet accepts for layout ") + layout;
  if (!check.note.empty()) {
    state_.detail += "; " + check.note;
  }
}

}  // namespace detail

}  // namespace nodepack::numa
