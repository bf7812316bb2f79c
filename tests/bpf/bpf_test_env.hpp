#pragma once

#include "bpf/feature_probe.hpp"
#include "bpf/pod_lookup.hpp"
#include "bpf/registry.hpp"

#include <prometheus/metric_family.h>

#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace nodepack::bpf::test {

// Why BPF tests cannot run here, or nullopt when they can (root, BPF syscall, cgroup v2).
std::optional<std::string> bpf_unavailable_reason();

// Prints a loud skip banner; FAILs instead when NODEPACK_REQUIRE_BPF=1.
void skip_or_fail(const std::string& reason);

#define NODEPACK_REQUIRE_BPF_OR_SKIP()                                 \
  do {                                                                 \
    if (auto why_ = ::nodepack::bpf::test::bpf_unavailable_reason()) { \
      ::nodepack::bpf::test::skip_or_fail(*why_);                      \
      return;                                                          \
    }                                                                  \
  } while (0)

// A throwaway kubepods-shaped tree in the real cgroup v2 hierarchy:
//   <v2 root>/nodepack-test-<pid>-<n>/kubepods.slice/kubepods-burstable.slice/
//       kubepods-burstable-pod<uid_>.slice/cri-containerd-<id>.scope
// Removed (children first) on destruction; processes must have exited by then.
class KubepodsTree {
 public:
  KubepodsTree();
  ~KubepodsTree();
  KubepodsTree(const KubepodsTree&) = delete;
  KubepodsTree& operator=(const KubepodsTree&) = delete;

  const std::filesystem::path& root() const { return root_; }
  // Creates the pod and container cgroups; returns the container cgroup dir.
  std::filesystem::path add_container(const std::string& pod_uid, const std::string& container_id);
  // Removes one pod's cgroups (as the kubelet does when a pod is deleted).
  void remove_pod(const std::string& pod_uid);

 private:
  std::filesystem::path pod_dir(const std::string& pod_uid) const;
  std::filesystem::path root_;
};

// Forks a child that moves itself into `cgroup`, runs `work`, and exits; returns its pid.
int spawn_in_cgroup(const std::filesystem::path& cgroup, std::function<void()> work);
// Waits for every pid; REQUIREs each exited 0.
void wait_all(const std::vector<int>& pids);

// Burn CPU on `cpu` until `ms` milliseconds of wall time have passed.
void spin_on_cpu(int cpu, int ms);
// Sleep-wake `n` times for `us` microseconds on `cpu`.
void sleep_wake_on_cpu(int cpu, int n, int us);

// A v1 memory cgroup with a limit, for OOM tests on hybrid hosts (the v2 tree there has no
// controllers). Empty path when the host has no v1 memory controller.
class V1MemoryCgroup {
 public:
  explicit V1MemoryCgroup(std::uint64_t limit_bytes);
  ~V1MemoryCgroup();
  V1MemoryCgroup(const V1MemoryCgroup&) = delete;
  V1MemoryCgroup& operator=(const V1MemoryCgroup&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Simple pod store for tests.
class FixedPodLookup final : public PodLookup {
 public:
  void add(const std::string& uid, PodInfo info) { pods_[uid] = std::move(info); }
  void remove(const std::string& uid) { pods_.erase(uid); }
  std::optional<PodInfo> by_uid(std::string_view uid) const override {
    auto it = pods_.find(std::string(uid));
    if (it == pods_.end()) {
      return std::nullopt;
    }
    return it->second;
  }

 private:
  std::map<std::string, PodInfo> pods_;
};

// A registry running only the named builtin collectors over `tree`, labelled node "test-node".
std::unique_ptr<CollectorRegistry> registry_for(const std::vector<std::string>& collectors,
                                                const std::filesystem::path& root, const PodLookup& pods,
                                                std::unique_ptr<FeatureProbe> probe);

// Polls `cond` every 10 ms until it holds or `timeout_ms` passes; returns the last answer.
bool wait_for(const std::function<bool()>& cond, int timeout_ms);

// Find the metric of family `name` whose labels include all of `labels`.
const prometheus::ClientMetric* find_metric(const std::vector<prometheus::MetricFamily>& families,
                                            const std::string& name, const std::map<std::string, std::string>& labels);

}  // namespace nodepack::bpf::test
