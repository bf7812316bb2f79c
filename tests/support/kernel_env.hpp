#pragma once

// Privileged tests against the real kernel: pod-shaped cgroups, workloads moved into them, and a
// loud skip (or, with NODEPACK_REQUIRE_BPF=1 as in CI, a failure) where the machine cannot.

#include "tests/support/fake_pods.hpp"

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

namespace nodepack::testing {

// Why kernel tests cannot run here, or nullopt when they can: root and a cgroup v2 tree, and for
// BPF tests (`bpf`) a kernel that takes BPF programs.
std::optional<std::string> kernel_unavailable_reason(bool bpf);

// Prints a loud skip banner; FAILs instead when NODEPACK_REQUIRE_BPF=1.
void skip_or_fail(const std::string& reason);

#define NODEPACK_REQUIRE_KERNEL_OR_SKIP(bpf)                               \
  do {                                                                     \
    if (auto why_ = ::nodepack::testing::kernel_unavailable_reason(bpf)) { \
      ::nodepack::testing::skip_or_fail(*why_);                            \
      return;                                                              \
    }                                                                      \
  } while (0)
// Loads real BPF programs.
#define NODEPACK_REQUIRE_BPF_OR_SKIP() NODEPACK_REQUIRE_KERNEL_OR_SKIP(true)
// Makes cgroups and namespaces, loads nothing.
#define NODEPACK_REQUIRE_ROOT_OR_SKIP() NODEPACK_REQUIRE_KERNEL_OR_SKIP(false)

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

// Polls `cond` every 10 ms until it holds or `timeout_ms` passes; returns the last answer.
bool wait_for(const std::function<bool()>& cond, int timeout_ms);

// Find the metric of family `name` whose labels include all of `labels`.
const prometheus::ClientMetric* find_metric(const std::vector<prometheus::MetricFamily>& families,
                                            const std::string& name, const std::map<std::string, std::string>& labels);

}  // namespace nodepack::testing
