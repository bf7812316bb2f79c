// Real oom program: a process OOM-killed by its memory limit is counted on its own pod.
#include "tests/bpf/bpf_registry.hpp"

#include <catch2/catch.hpp>

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <fstream>

namespace nb = nodepack::bpf;
using nb::test::find_metric;

TEST_CASE("oom: a kill is charged to the victim's pod, not to the neighbour", "[bpf][oom]") {
  NODEPACK_REQUIRE_BPF_OR_SKIP();
  const std::string uid_a = "0f1e2d3c-0000-4000-8000-0000000000a2";
  const std::string uid_b = "0f1e2d3c-0000-4000-8000-0000000000b2";
  const std::string cid_a(64, 'e');
  const std::string cid_b(64, 'f');
  nb::test::KubepodsTree tree;
  auto cg_a = tree.add_container(uid_a, cid_a);
  auto cg_b = tree.add_container(uid_b, cid_b);
  nb::test::FixedPodLookup pods;
  pods.add(uid_a, {"ns", "hog", {{cid_a, "eat"}}});
  pods.add(uid_b, {"ns", "calm", {{cid_b, "main"}}});

  // Identity from the v2 cgroup, the limit from a v1 memory cgroup (hybrid hosts have no v2
  // memory controller).
  nb::test::V1MemoryCgroup mem(32ULL << 20);
  if (mem.path().empty()) {
    nb::test::skip_or_fail("no v1 memory controller to set a limit with");
    return;
  }
  auto reg = nb::test::registry_for({"oom"}, tree.root(), pods, std::make_unique<nb::KernelFeatureProbe>());
  reg->start();
  REQUIRE(reg->status()["oom"]);

  const auto mem_procs = mem.path() / "cgroup.procs";
  int hog = nb::test::spawn_in_cgroup(cg_a, [mem_procs] {
    {
      std::ofstream p(mem_procs);
      p << "0" << std::flush;
      if (!p) {
        ::_exit(5);
      }
    }
    // Touch 256 MiB against a 32 MiB limit without swap: the OOM killer picks us.
    for (int i = 0; i < 256; ++i) {
      void* m = ::mmap(nullptr, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (m == MAP_FAILED) {
        ::_exit(6);
      }
      std::memset(m, 0x5a, 1 << 20);
    }
    ::_exit(7);  // not killed: the limit did not hold
  });
  int calm = nb::test::spawn_in_cgroup(cg_b, [] { ::usleep(20'000); });
  int st = 0;
  REQUIRE(::waitpid(hog, &st, 0) == hog);
  REQUIRE(WIFSIGNALED(st));
  CHECK(WTERMSIG(st) == SIGKILL);
  nb::test::wait_all({calm});

  auto families = reg->Collect();
  auto* kills = find_metric(families, "kpod_mem_oom_kills_total", {{"pod", "hog"}, {"container", "eat"}});
  REQUIRE(kills != nullptr);
  CHECK(kills->counter.value == 1);
  CHECK(find_metric(families, "kpod_mem_oom_kills_total", {{"pod", "calm"}}) == nullptr);
}
