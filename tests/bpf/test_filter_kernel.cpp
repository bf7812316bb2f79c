// kpod's filters reach the kernel: a pod left out by --kpod.exclude-namespaces (kube-system by
// default) gets no entry in any program's map, while its neighbour is counted as usual.
#include "bpf/cgroup_map_collector.hpp"
#include "bpf/proc/proc.h"
#include "bpf/sched/sched_collector.hpp"
#include "bpf/skip_cgroups.hpp"
#include "tests/bpf/bpf_registry.hpp"
#include "tests/support/fixtures.hpp"

#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

namespace nb = nodepack::bpf;
namespace nk = nodepack::kpod;
using nb::test::find_metric;

namespace {

// Forks and execs /bin/true `runs` times, one after the other.
void fork_exec(int runs) {
  for (int i = 0; i < runs; ++i) {
    if (pid_t child = ::fork(); child == 0) {
      ::execl("/bin/true", "true", static_cast<char*>(nullptr));
      ::_exit(127);
    } else {
      ::waitpid(child, nullptr, 0);
    }
  }
}

template <class Collector>
bool has_entry(const Collector& c, std::uint64_t id) {
  for (const auto& [cg, v] : c.read_cgroups()) {
    if (cg == id) {
      return true;
    }
  }
  return false;
}

}  // namespace

TEST_CASE("filters: a kube-system pod costs no map entry in proc and sched, its neighbour is counted",
          "[bpf][filter]") {
  NODEPACK_REQUIRE_BPF_OR_SKIP();
  struct Pod {
    std::string uid, container_id, namespace_name, name;
    std::filesystem::path cgroup;
  };
  Pod app_pod{"0f1e2d3c-0000-4000-8000-0000000000f1", std::string(64, 'a'), "shop", "web", {}};
  Pod sys_pod{"0f1e2d3c-0000-4000-8000-0000000000f2", std::string(64, 'b'), "kube-system", "dns", {}};
  nb::test::KubepodsTree tree;
  nb::test::FixedPodLookup pods;
  for (auto* p : {&app_pod, &sys_pod}) {
    p->cgroup = tree.add_container(p->uid, p->container_id);
    pods.add(p->uid, {p->namespace_name, p->name, {{p->container_id, "main"}}});
  }
  const auto& cg_app = app_pod.cgroup;
  const auto& cg_sys = sys_pod.cgroup;
  auto reg = nb::test::registry_for({"proc", "sched"}, tree.root(), pods, std::make_unique<nb::KernelFeatureProbe>(),
                                    nk::PodScope::create(nk::PodScopeOptions{}).value());
  reg->start();
  REQUIRE(reg->status()["proc"]);
  REQUIRE(reg->status()["sched"]);
  const auto app = nodepack::testing::inode_of(cg_app);
  const auto sys = nodepack::testing::inode_of(cg_sys);
  CHECK(nb::SkipCgroups::shared().in_kernel(sys));
  CHECK(nb::SkipCgroups::shared().in_kernel(nodepack::testing::inode_of(cg_sys.parent_path())));
  CHECK_FALSE(nb::SkipCgroups::shared().in_kernel(app));

  constexpr int kRuns = 10;
  nb::test::wait_all({nb::test::spawn_in_cgroup(cg_app, [] { fork_exec(kRuns); }),
                      nb::test::spawn_in_cgroup(cg_sys, [] { fork_exec(kRuns); })});

  auto* proc = dynamic_cast<nb::CgroupMapCollector<proc_cg_counts>*>(reg->find("proc"));
  auto* sched = dynamic_cast<nb::SchedCollector*>(reg->find("sched"));
  REQUIRE(proc != nullptr);
  REQUIRE(sched != nullptr);
  CHECK(has_entry(*proc, app));
  CHECK_FALSE(has_entry(*proc, sys));  // forked, exec'ed and exited ten times: still no entry
  CHECK(has_entry(*sched, app));
  CHECK_FALSE(has_entry(*sched, sys));

  auto families = reg->Collect();
  auto* execs = find_metric(families, "kpod_proc_execs_total", {{"pod", "web"}, {"container", "main"}});
  REQUIRE(execs != nullptr);
  CHECK(execs->counter.value == kRuns);
  CHECK(find_metric(families, "kpod_proc_execs_total", {{"pod", "dns"}}) == nullptr);
  CHECK(find_metric(families, "kpod_cpu_context_switches_total", {{"pod", "web"}}) != nullptr);
  CHECK(find_metric(families, "kpod_cpu_context_switches_total", {{"pod", "dns"}}) == nullptr);
  CHECK(sched->slots_in_use() <= 2);  // the app pod's cgroups at most: none for kube-system's

  // Without filters the same registry code hands over nothing: the list empties.
  auto open = nb::test::registry_for({"proc"}, tree.root(), pods, std::make_unique<nb::KernelFeatureProbe>());
  open->start();
  CHECK_FALSE(nb::SkipCgroups::shared().in_kernel(sys));
  CHECK(nb::SkipCgroups::shared().size() == 0);
}
