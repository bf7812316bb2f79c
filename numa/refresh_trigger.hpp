#pragma once

// Decides when the checkpoint files should be read again: when inotify reports that the
// kubelet replaced one (it writes a temporary file and renames it over the old one), and on a
// timer as a backstop. It owns no thread: the agent polls it from its own loop, or waits on
// fd() becoming readable.

#include "common/clock.hpp"

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace nodepack::numa {

class RefreshTrigger {
 public:
  // Watches kubelet_root and kubelet_root/device-plugins (the directories, not the files, so
  // renames are seen). A directory that does not exist yet is retried on each timer tick.
  RefreshTrigger(const std::filesystem::path& kubelet_root, std::chrono::steady_clock::duration interval,
                 const Clock& clock);
  ~RefreshTrigger();
  RefreshTrigger(const RefreshTrigger&) = delete;
  RefreshTrigger& operator=(const RefreshTrigger&) = delete;

  // The inotify descriptor (non-blocking), or -1 when inotify is unavailable.
  int fd() const { return fd_; }

  // Non-blocking. True when a refresh is due: the first call, a watched file changed, or the
  // interval passed since the last time poll() returned true.
  bool poll();

  bool watching_all() const;
  std::vector<std::string> watched_dirs() const;

 private:
  struct Watch {
    std::filesystem::path dir;
    int wd = -1;
  };

  void add_missing_watches();
  bool drain_events();

  int fd_ = -1;
  std::vector<Watch> watches_;
  std::chrono::steady_clock::duration interval_;
  const Clock& clock_;
  std::chrono::steady_clock::time_point last_fired_{};
  bool fired_once_ = false;
};

}  // namespace nodepack::numa
