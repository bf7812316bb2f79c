#include "numa/refresh_trigger.hpp"

#include <spdlog/spdlog.h>

#include <sys/inotify.h>
#include <unistd.h>
#include <array>
#include <cerrno>
#include <cstring>
#include <string_view>

namespace nodepack::numa {

namespace {

constexpr std::array<std::string_view, 3> watched_names = {"cpu_manager_state", "memory_manager_state",
                                                           "kubelet_internal_checkpoint"};

constexpr std::uint32_t watch_mask =
    IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF;

}  // namespace

RefreshTrigger::RefreshTrigger(const std::filesystem::path& kubelet_root, std::chrono::steady_clock::duration interval,
                               const Clock& clock)
    : interval_(interval), clock_(clock) {
  fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd_ < 0) {
    spdlog::warn("numa: inotify unavailable ({}); checkpoint files are re-read on the timer only",
                 std::strerror(errno));
  }
  watches_.push_back({kubelet_root});
  watches_.push_back({kubelet_root / "device-plugins"});
  add_missing_watches();
}

RefreshTrigger::~RefreshTrigger() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

void RefreshTrigger::add_missing_watches() {
  if (fd_ < 0) {
    return;
  }
  for (auto& w : watches_) {
    if (w.wd >= 0) {
      continue;
    }
    w.wd = ::inotify_add_watch(fd_, w.dir.c_str(), watch_mask | IN_ONLYDIR);
  }
}

bool RefreshTrigger::drain_events() {
  if (fd_ < 0) {
    return false;
  }
  bool relevant = false;
  alignas(struct inotify_event) char buf[8192];
  for (;;) {
    const ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n <= 0) {
      break;  // EAGAIN: drained
    }
    for (ssize_t off = 0; off + static_cast<ssize_t>(sizeof(struct inotify_event)) <= n;) {
      const auto* ev = reinterpret_cast<const struct inotify_event*>(buf + off);
      off += static_cast<ssize_t>(sizeof(struct inotify_event) + ev->len);
      if ((ev->mask & IN_Q_OVERFLOW) != 0) {
        relevant = true;
        continue;
      }
      if ((ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) != 0) {
        for (auto& w : watches_) {
          if (w.wd == ev->wd) {
            if ((ev->mask & IN_IGNORED) == 0) {
              ::inotify_rm_watch(fd_, w.wd);
            }
            w.wd = -1;
          }
        }
        relevant = true;  // the directory went away: the files did too
        continue;
      }
      if (ev->len == 0) {
        continue;
      }
      const std::string_view name(ev->name);
      for (auto watched : watched_names) {
        if (name == watched) {
          relevant = true;
        }
      }
    }
  }
  return relevant;
}

bool RefreshTrigger::poll() {
  const bool changed = drain_events();
  const auto now = clock_.steady_now();
  const bool timer = !fired_once_ || now - last_fired_ >= interval_;
  if (timer) {
    add_missing_watches();
  }
  if (changed || timer) {
    fired_once_ = true;
    last_fired_ = now;
    return true;
  }
  return false;
}

bool RefreshTrigger::watching_all() const {
  for (const auto& w : watches_) {
    if (w.wd < 0) {
      return false;
    }
  }
  return fd_ >= 0;
}

std::vector<std::string> RefreshTrigger::watched_dirs() const {
  std::vector<std::string> out;
  for (const auto& w : watches_) {
    if (w.wd >= 0) {
      out.push_back(w.dir.string());
    }
  }
  return out;
}

}  // namespace nodepack::numa
