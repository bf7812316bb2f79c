#include "tests/support/kernel_env.hpp"

#include "cgroup/v2_root.hpp"

#include <linux/bpf.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cerrno>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <thread>

namespace nodepack::testing {
using cgroup::find_cgroup2_root;
namespace fs = std::filesystem;

namespace {

// The bpf syscall answers at all (ENOSYS or EPERM: it does not). A probe with an invalid map
// type fails with EINVAL on any kernel that takes BPF from this process.
bool bpf_syscall_usable() {
  union bpf_attr attr {};
  attr.map_type = 0xffff;
  attr.key_size = 4;
  attr.value_size = 4;
  attr.max_entries = 1;
  errno = 0;
  const long fd = ::syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof(attr));
  if (fd >= 0) {
    ::close(static_cast<int>(fd));
    return true;
  }
  return errno == EINVAL;
}

}  // namespace

std::optional<std::string> kernel_unavailable_reason(bool bpf) {
  if (::geteuid() != 0) {
    return "not running as root";
  }
  if (bpf && !bpf_syscall_usable()) {
    return "the kernel refuses BPF programs (no bpf syscall for this process)";
  }
  if (!find_cgroup2_root(HostPaths{})) {
    return "no cgroup v2 hierarchy";
  }
  return std::nullopt;
}

void skip_or_fail(const std::string& reason) {
  const char* req = std::getenv("NODEPACK_REQUIRE_BPF");
  const bool required = req != nullptr && std::string(req) == "1";
  std::cerr << "\n"
            << "################################################################\n"
            << "##  KERNEL TEST " << (required ? "FAILED" : "SKIPPED") << ": "
            << Catch::getResultCapture().getCurrentTestName() << "\n##  reason: " << reason << "\n"
            << (required ? "##  NODEPACK_REQUIRE_BPF=1: a skip is a failure\n" : "")
            << "################################################################\n";
  if (required) {
    FAIL("kernel test required but unavailable: " << reason);
  } else {
    WARN("kernel test skipped: " << reason);
  }
}

KubepodsTree::KubepodsTree() {
  static std::atomic<int> n{0};
  auto v2 = find_cgroup2_root(HostPaths{}).value();
  root_ = v2 / ("nodepack-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
  fs::create_directories(root_ / "kubepods.slice/kubepods-burstable.slice");
}

fs::path KubepodsTree::pod_dir(const std::string& pod_uid) const {
  std::string u = pod_uid;
  std::replace(u.begin(), u.end(), '-', '_');
  return root_ / "kubepods.slice/kubepods-burstable.slice" / ("kubepods-burstable-pod" + u + ".slice");
}

fs::path KubepodsTree::add_container(const std::string& pod_uid, const std::string& container_id) {
  auto dir = pod_dir(pod_uid) / ("cri-containerd-" + container_id + ".scope");
  fs::create_directories(dir);
  return dir;
}

namespace {
// cgroupfs directories can only be rmdir'ed, deepest first.
void remove_cgroup_tree(const fs::path& p) {
  std::error_code ec;
  if (!fs::is_directory(p, ec)) {
    return;
  }
  for (const auto& e : fs::directory_iterator(p, ec)) {
    if (e.is_directory(ec) && !e.is_symlink(ec)) {
      remove_cgroup_tree(e.path());
    }
  }
  // A child that has just exited leaves its cgroup a moment after it is reaped (EBUSY until then).
  for (int attempt = 0; ::rmdir(p.c_str()) != 0; ++attempt) {
    if (errno != EBUSY || attempt == 50) {
      std::cerr << "warning: could not remove test cgroup " << p << ": " << std::strerror(errno) << "\n";
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(40));
  }
}
}  // namespace

void KubepodsTree::remove_pod(const std::string& pod_uid) { remove_cgroup_tree(pod_dir(pod_uid)); }

KubepodsTree::~KubepodsTree() { remove_cgroup_tree(root_); }

int spawn_in_cgroup(const fs::path& cgroup, std::function<void()> work) {
  pid_t pid = ::fork();
  if (pid == 0) {
    {
      std::ofstream procs(cgroup / "cgroup.procs");
      procs << "0" << std::flush;
      if (!procs) {
        ::_exit(3);
      }
    }
    work();
    ::_exit(0);
  }
  REQUIRE(pid > 0);
  return pid;
}

void wait_all(const std::vector<int>& pids) {
  for (int pid : pids) {
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
  }
}

namespace {
void pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu % std::max(1, static_cast<int>(std::thread::hardware_concurrency())), &set);
  ::sched_setaffinity(0, sizeof(set), &set);
}
}  // namespace

void spin_on_cpu(int cpu, int ms) {
  pin(cpu);
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  volatile std::uint64_t x = 0;
  while (std::chrono::steady_clock::now() < end) {
    for (int i = 0; i < 1000; ++i) {
      x = x + 1;
    }
  }
}

void sleep_wake_on_cpu(int cpu, int n, int us) {
  pin(cpu);
  for (int i = 0; i < n; ++i) {
    ::usleep(static_cast<useconds_t>(us));
  }
}

V1MemoryCgroup::V1MemoryCgroup(std::uint64_t limit_bytes) {
  const fs::path base = HostPaths{}.cgroup / "memory";
  if (!fs::exists(base / "memory.limit_in_bytes")) {
    return;
  }
  path_ = base / ("nodepack-test-" + std::to_string(::getpid()));
  fs::create_directories(path_);
  std::ofstream(path_ / "memory.limit_in_bytes") << limit_bytes << std::flush;
}

V1MemoryCgroup::~V1MemoryCgroup() {
  if (!path_.empty() && ::rmdir(path_.c_str()) != 0) {
    std::cerr << "warning: could not remove test cgroup " << path_ << "\n";
  }
}

bool wait_for(const std::function<bool()>& cond, int timeout_ms) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!cond()) {
    if (std::chrono::steady_clock::now() >= end) {
      return cond();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

const prometheus::ClientMetric* find_metric(const std::vector<prometheus::MetricFamily>& families,
                                            const std::string& name, const std::map<std::string, std::string>& labels) {
  for (const auto& f : families) {
    if (f.name != name) {
      continue;
    }
    for (const auto& m : f.metric) {
      bool all = std::all_of(labels.begin(), labels.end(), [&](const auto& want) {
        return std::any_of(m.label.begin(), m.label.end(),
                           [&](const auto& l) { return l.name == want.first && l.value == want.second; });
      });
      if (all) {
        return &m;
      }
    }
  }
  return nullptr;
}

}  // namespace nodepack::testing
