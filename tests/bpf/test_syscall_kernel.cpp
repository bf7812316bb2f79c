// Real syscall programs: counts, errors and latency per tracked syscall land on the calling pod.
#include "bpf/syscall/syscall_collector.hpp"
#include "tests/bpf/bpf_registry.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

namespace nb = nodepack::bpf;
using nb::test::find_metric;

namespace {

void check_syscalls(std::unique_ptr<nb::FeatureProbe> probe) {
  const std::string uid_a = "0f1e2d3c-0000-4000-8000-0000000000a4";
  const std::string uid_b = "0f1e2d3c-0000-4000-8000-0000000000b4";
  const std::string cid_a(64, '4');
  const std::string cid_b(64, '5');
  nb::test::KubepodsTree tree;
  auto cg_a = tree.add_container(uid_a, cid_a);
  auto cg_b = tree.add_container(uid_b, cid_b);
  nb::test::FixedPodLookup pods;
  pods.add(uid_a, {"ns", "opener", {{cid_a, "main"}}});
  pods.add(uid_b, {"ns", "reader", {{cid_b, "main"}}});
  auto reg = nb::test::registry_for({"syscall"}, tree.root(), pods, std::move(probe));
  reg->start();
  REQUIRE(reg->status()["syscall"]);

  constexpr int kOpens = 500;
  constexpr int kReads = 300;
  std::vector<int> pids;
  pids.push_back(nb::test::spawn_in_cgroup(cg_a, [] {
    for (int i = 0; i < kOpens; ++i) {
      if (::openat(AT_FDCWD, "/nonexistent/nodepack-syscall-test", O_RDONLY) >= 0) {
        ::_exit(20);
      }
    }
  }));
  pids.push_back(nb::test::spawn_in_cgroup(cg_b, [] {
    int fd = ::open("/dev/zero", O_RDONLY);
    char buf[64];
    for (int i = 0; i < kReads; ++i) {
      if (::read(fd, buf, sizeof(buf)) != sizeof(buf)) {
        ::_exit(21);
      }
    }
  }));
  nb::test::wait_all(pids);

  auto families = reg->Collect();
  auto* opens = find_metric(families, "kpod_syscall_count_total", {{"pod", "opener"}, {"syscall", "openat"}});
  auto* open_errors = find_metric(families, "kpod_syscall_errors_total", {{"pod", "opener"}, {"syscall", "openat"}});
  REQUIRE(opens != nullptr);
  REQUIRE(open_errors != nullptr);
  CHECK(opens->counter.value >= kOpens);
  CHECK(opens->counter.value <= kOpens + 5);
  CHECK(open_errors->counter.value >= kOpens);
  CHECK(open_errors->counter.value <= opens->counter.value);
  auto* lat = find_metric(families, "kpod_syscall_latency_seconds", {{"pod", "opener"}, {"syscall", "openat"}});
  REQUIRE(lat != nullptr);
  CHECK(static_cast<double>(lat->histogram.sample_count) == opens->counter.value);
  CHECK(lat->histogram.sample_sum > 0);
  CHECK(lat->histogram.sample_sum < 5.0);

  auto* reads = find_metric(families, "kpod_syscall_count_total", {{"pod", "reader"}, {"syscall", "read"}});
  auto* read_errors = find_metric(families, "kpod_syscall_errors_total", {{"pod", "reader"}, {"syscall", "read"}});
  REQUIRE(reads != nullptr);
  CHECK(reads->counter.value >= kReads);
  CHECK(reads->counter.value <= kReads + 5);
  CHECK(read_errors->counter.value == 0);
  // Neither pod's workload shows up on the other.
  auto* cross = find_metric(families, "kpod_syscall_count_total", {{"pod", "reader"}, {"syscall", "openat"}});
  CHECK((cross == nullptr || cross->counter.value < 5));
  auto* cross2 = find_metric(families, "kpod_syscall_count_total", {{"pod", "opener"}, {"syscall", "read"}});
  CHECK((cross2 == nullptr || cross2->counter.value < 5));
}

}  // namespace

TEST_CASE("syscall: tracked calls and their errors are counted on the calling pod only", "[bpf][syscall]") {
  NODEPACK_REQUIRE_BPF_OR_SKIP();
  check_syscalls(std::make_unique<nb::KernelFeatureProbe>());
}

TEST_CASE("syscall: the raw_tp fallback counts the same", "[bpf][syscall]") {
  NODEPACK_REQUIRE_BPF_OR_SKIP();
  check_syscalls(std::make_unique<nb::FixedFeatureProbe>(
      std::map<std::string, bool, std::less<>>{{"tp_btf:sys_enter", false}, {"raw_tp", true}}));
}
