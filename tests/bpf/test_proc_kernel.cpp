// Real proc programs: exec/fork/exit counts land on the pod whose tasks did them.
#include "tests/bpf/bpf_registry.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace nb = nodepack::bpf;
using nb::test::find_metric;

TEST_CASE("proc: execs, forks and exits are charged to the pod that made them", "[bpf][proc]") {
  NODEPACK_REQUIRE_BPF_OR_SKIP();
  const std::string uid_a = "0f1e2d3c-0000-4000-8000-0000000000a1";
  const std::string uid_b = "0f1e2d3c-0000-4000-8000-0000000000b1";
  const std::string cid_a(64, 'c');
  const std::string cid_b(64, 'd');
  nb::test::KubepodsTree tree;
  auto cg_a = tree.add_container(uid_a, cid_a);
  auto cg_b = tree.add_container(uid_b, cid_b);
  nb::test::FixedPodLookup pods;
  pods.add(uid_a, {"ns", "forker", {{cid_a, "main"}}});
  pods.add(uid_b, {"ns", "idle", {{cid_b, "main"}}});
  auto reg = nb::test::registry_for({"proc"}, tree.root(), pods, std::make_unique<nb::KernelFeatureProbe>());
  reg->start();
  REQUIRE(reg->status()["proc"]);

  constexpr int kRuns = 20;
  std::vector<int> pids;
  pids.push_back(nb::test::spawn_in_cgroup(cg_a, [] {
    for (int i = 0; i < kRuns; ++i) {
      pid_t p = ::fork();
      if (p == 0) {
        ::execl("/bin/true", "true", static_cast<char*>(nullptr));
        ::_exit(127);
      }
      int st = 0;
      ::waitpid(p, &st, 0);
      if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        ::_exit(4);
      }
    }
  }));
  pids.push_back(nb::test::spawn_in_cgroup(cg_b, [] { ::usleep(50'000); }));
  nb::test::wait_all(pids);

  auto families = reg->Collect();
  auto* execs = find_metric(families, "kpod_proc_execs_total", {{"pod", "forker"}, {"container", "main"}});
  auto* forks = find_metric(families, "kpod_proc_forks_total", {{"pod", "forker"}});
  auto* exits = find_metric(families, "kpod_proc_exits_total", {{"pod", "forker"}});
  REQUIRE(execs != nullptr);
  REQUIRE(forks != nullptr);
  REQUIRE(exits != nullptr);
  // The workload process itself was forked outside the pod and moved in; its 20 children were
  // forked inside, exec'ed /bin/true and exited, then it exited too.
  CHECK(execs->counter.value == kRuns);
  CHECK(forks->counter.value == kRuns);
  CHECK(exits->counter.value == kRuns + 1);

  // The idle pod only exited.
  auto* idle_exits = find_metric(families, "kpod_proc_exits_total", {{"pod", "idle"}});
  REQUIRE(idle_exits != nullptr);
  CHECK(idle_exits->counter.value == 1);
  auto* idle_execs = find_metric(families, "kpod_proc_execs_total", {{"pod", "idle"}});
  REQUIRE(idle_execs != nullptr);
  CHECK(idle_execs->counter.value == 0);
}
