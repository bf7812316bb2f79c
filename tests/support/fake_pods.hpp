#pragma once

// A pod lookup the test fills by hand, standing in for the agent's pod store.

#include "cgroup/pod_lookup.hpp"

#include <map>
#include <optional>
#include <string>

namespace nodepack::testing {

class FixedPodLookup final : public cgroup::PodLookup {
 public:
  void add(const std::string& uid, cgroup::PodInfo info) { pods_[uid] = std::move(info); }
  void remove(const std::string& uid) { pods_.erase(uid); }
  void clear() { pods_.clear(); }
  // A pod already added, to change in place (a container ID the store learns late).
  cgroup::PodInfo& at(const std::string& uid) { return pods_.at(uid); }
  std::optional<cgroup::PodInfo> by_uid(std::string_view uid) const override {
    auto it = pods_.find(std::string(uid));
    if (it == pods_.end()) {
      return std::nullopt;
    }
    return it->second;
  }

 private:
  std::map<std::string, cgroup::PodInfo> pods_;
};

}  // namespace nodepack::testing
