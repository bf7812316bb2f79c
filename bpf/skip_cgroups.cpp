#include "bpf/skip_cgroups.hpp"

#include <bpf/bpf.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>

namespace nodepack::bpf {

SkipCgroups& SkipCgroups::shared() {
  static SkipCgroups instance;
  return instance;
}

SkipCgroups::SkipCgroups() {
  fd_ = bpf_map_create(BPF_MAP_TYPE_HASH, "skip_cgroups", sizeof(std::uint64_t), sizeof(std::uint8_t), kCapacity,
                       nullptr);
  if (fd_ < 0) {
    spdlog::warn(
        "cannot create the BPF map of filtered cgroups ({}): filtered pods may hold BPF map entries "
        "until the next scrape drops them",
        std::strerror(errno));
  }
}

void SkipCgroups::share_with(bpf_object* obj) {
  std::lock_guard lock(mu_);
  if (fd_ < 0) {
    return;
  }
  if (bpf_map* map = bpf_object__find_map_by_name(obj, "skip_cgroups"); map != nullptr) {
    if (int err = bpf_map__reuse_fd(map, fd_); err != 0) {
      spdlog::warn("BPF object {}: cannot share the filtered-cgroup map: {}", bpf_object__name(obj),
                   std::strerror(-err));
    }
  }
}

void SkipCgroups::set(const std::vector<std::uint64_t>& ids) {
  std::lock_guard lock(mu_);
  const std::set<std::uint64_t> want(ids.begin(), ids.end());
  for (auto it = ids_.begin(); it != ids_.end();) {
    if (!want.contains(*it)) {
      std::uint64_t id = *it;
      if (fd_ >= 0) {
        bpf_map_delete_elem(fd_, &id);
      }
      it = ids_.erase(it);
    } else {
      ++it;
    }
  }
  for (std::uint64_t id : want) {
    if (ids_.contains(id)) {
      continue;
    }
    if (ids_.size() >= kCapacity) {
      ++overflow_;
      continue;
    }
    const std::uint8_t one = 1;
    if (fd_ >= 0 && bpf_map_update_elem(fd_, &id, &one, BPF_ANY) != 0) {
      ++overflow_;
      continue;
    }
    ids_.insert(id);
  }
}

std::size_t SkipCgroups::size() const {
  std::lock_guard lock(mu_);
  return ids_.size();
}

bool SkipCgroups::contains(std::uint64_t id) const {
  std::lock_guard lock(mu_);
  return ids_.contains(id);
}

std::uint64_t SkipCgroups::overflow() const {
  std::lock_guard lock(mu_);
  return overflow_;
}

bool SkipCgroups::in_kernel(std::uint64_t id) const {
  std::lock_guard lock(mu_);
  std::uint8_t v = 0;
  return fd_ >= 0 && bpf_map_lookup_elem(fd_, &id, &v) == 0;
}

}  // namespace nodepack::bpf
