#include "cgroup/kubelet_names.hpp"
#include "cgroup/resolver.hpp"
#include "cgroup/v2_root.hpp"
#include "common/clock.hpp"
#include "tests/support/fake_pods.hpp"
#include "tests/support/temp_dir.hpp"

#include "tests/support/fixtures.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

namespace nc = nodepack::cgroup;
using nodepack::testing::FixedPodLookup;
using nodepack::testing::TempDir;
namespace fs = std::filesystem;

namespace {

const std::string kUid1 = "11111111-2222-3333-4444-555555555555";
const std::string kUid2 = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
const std::string kUid3 = "99999999-8888-7777-6666-555555555555";
const std::string kCid1 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const std::string kCid2 = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
const std::string kCid3 = "abcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcd";

std::string underscored(std::string s) {
  std::replace(s.begin(), s.end(), '-', '_');
  return s;
}

}  // namespace

TEST_CASE("pod and container directory names of both cgroup drivers and three runtimes parse") {
  CHECK(*nc::parse_pod_dir("kubepods-burstable-pod" + underscored(kUid1) + ".slice") == kUid1);
  CHECK(*nc::parse_pod_dir("kubepods-besteffort-pod" + underscored(kUid1) + ".slice") == kUid1);
  CHECK(*nc::parse_pod_dir("kubepods-pod" + underscored(kUid1) + ".slice") == kUid1);  // guaranteed
  CHECK(*nc::parse_pod_dir("pod" + kUid1) == kUid1);
  CHECK_FALSE(nc::parse_pod_dir("kubepods-burstable.slice"));
  CHECK_FALSE(nc::parse_pod_dir("system.slice"));
  CHECK_FALSE(nc::parse_pod_dir("podzzz"));

  CHECK(nc::parse_container_dir("cri-containerd-" + kCid1 + ".scope") == kCid1);
  CHECK(nc::parse_container_dir("crio-" + kCid1 + ".scope") == kCid1);
  CHECK(nc::parse_container_dir("docker-" + kCid1 + ".scope") == kCid1);
  CHECK(nc::parse_container_dir(kCid1) == kCid1);  // cgroupfs driver, containerd
  CHECK(nc::parse_container_dir("crio-" + kCid1) == kCid1);
  CHECK_FALSE(nc::parse_container_dir("crio-conmon-" + kCid1 + ".scope"));
  CHECK_FALSE(nc::parse_container_dir("init.scope"));
}

TEST_CASE("a pod's directory names per QoS class are the kubelet's, and parse back to its uid") {
  const fs::path systemd = "/sys/fs/cgroup/kubelet.slice/kubelet-kubepods.slice";
  const std::vector<fs::path> named = nc::pod_dir_candidates(systemd, kUid1);
  CHECK(named == std::vector<fs::path>{systemd / ("kubelet-kubepods-pod" + underscored(kUid1) + ".slice"),
                                       systemd / "kubelet-kubepods-burstable.slice" /
                                           ("kubelet-kubepods-burstable-pod" + underscored(kUid1) + ".slice"),
                                       systemd / "kubelet-kubepods-besteffort.slice" /
                                           ("kubelet-kubepods-besteffort-pod" + underscored(kUid1) + ".slice")});
  const fs::path cgroupfs = "/sys/fs/cgroup/kubepods";
  CHECK(nc::pod_dir_candidates(cgroupfs, kUid2) == std::vector<fs::path>{cgroupfs / ("pod" + kUid2),
                                                                         cgroupfs / "burstable" / ("pod" + kUid2),
                                                                         cgroupfs / "besteffort" / ("pod" + kUid2)});
  for (const auto& dir : named) {
    CHECK(nc::parse_pod_dir(dir.filename().string()) == kUid1);
  }
}

TEST_CASE("systemd-driver tree: cgroup inode resolves to namespace, pod and container") {
  TempDir tmp;
  const fs::path kp = tmp.path() / "kubepods.slice";
  const fs::path burstable_pod =
      kp / "kubepods-burstable.slice" / ("kubepods-burstable-pod" + underscored(kUid1) + ".slice");
  const fs::path c1 = burstable_pod / ("cri-containerd-" + kCid1 + ".scope");
  const fs::path guaranteed_pod = kp / ("kubepods-pod" + underscored(kUid2) + ".slice");
  const fs::path c2 = guaranteed_pod / ("crio-" + kCid2 + ".scope");
  const fs::path conmon = guaranteed_pod / ("crio-conmon-" + kCid2 + ".scope");
  const fs::path besteffort_pod =
      kp / "kubepods-besteffort.slice" / ("kubepods-besteffort-pod" + underscored(kUid3) + ".slice");
  const fs::path c3 = besteffort_pod / ("docker-" + kCid3 + ".scope");
  const fs::path nested = c3 / "system.slice/foo.service";
  for (const auto& p : {c1, c2, conmon, c3, nested, tmp.path() / "system.slice/sshd.service"}) {
    fs::create_directories(p);
  }

  FixedPodLookup pods;
  pods.add(kUid1, {"default", "web-0", {{kCid1, "nginx"}}});
  pods.add(kUid2, {"kube-system", "dns", {{kCid2, "coredns"}}});
  pods.add(kUid3, {"batch", "job-x", {{kCid3, "worker"}}});

  nc::CgroupResolver r(tmp.path(), pods);
  CHECK(r.rescan() == 9);  // 3 pods + 3 containers + conmon + 2 nested

  auto id = r.resolve(nodepack::testing::inode_of(c1));
  REQUIRE(id);
  CHECK(id->namespace_name == "default");
  CHECK(id->pod == "web-0");
  CHECK(id->container == "nginx");
  CHECK(id->pod_uid == kUid1);

  CHECK(r.resolve(nodepack::testing::inode_of(c2))->container == "coredns");
  CHECK(r.resolve(nodepack::testing::inode_of(guaranteed_pod))->pod == "dns");
  CHECK(r.resolve(nodepack::testing::inode_of(guaranteed_pod))->container.empty());
  CHECK(r.resolve(nodepack::testing::inode_of(conmon))->container.empty());  // charged to the pod, not a container
  CHECK(r.resolve(nodepack::testing::inode_of(c3))->container == "worker");
  CHECK(r.resolve(nodepack::testing::inode_of(nested))->container ==
        "worker");  // cgroups a container makes stay its own
  CHECK_FALSE(r.resolve(nodepack::testing::inode_of(tmp.path() / "system.slice/sshd.service")));
  CHECK_FALSE(r.resolve(nodepack::testing::inode_of(kp)));
}

TEST_CASE("without a consumer of removed cgroups, a rescan forgets them at once") {
  TempDir tmp;
  const fs::path pod = tmp.path() / "kubepods/burstable" / ("pod" + kUid1);
  fs::create_directories(pod / kCid1);
  FixedPodLookup pods;
  pods.add(kUid1, {"ns", "p", {{kCid1, "app"}}});
  nc::CgroupResolver r(tmp.path(), pods);
  CHECK(r.rescan() == 2);
  const auto id = nodepack::testing::inode_of(pod / kCid1);
  REQUIRE(r.resolve(id));
  fs::remove_all(pod);
  r.rescan();
  CHECK(r.removed().empty());  // nothing waits for a release() nobody would make
  CHECK_FALSE(r.is_removed(id));
  CHECK(r.live_count() == 0);
}

TEST_CASE("container cgroup paths from /proc/<pid>/cgroup, both drivers") {
  const std::string cid(64, 'b');
  auto systemd = nc::parse_container_cgroup(
      "/kubepods.slice/kubepods-burstable.slice/"
      "kubepods-burstable-pod12345678_aaaa_bbbb_cccc_1234567890ab.slice/cri-containerd-" +
      cid + ".scope");
  REQUIRE(systemd.has_value());
  CHECK(systemd->pod_uid == "12345678-aaaa-bbbb-cccc-1234567890ab");
  CHECK(systemd->container_id == cid);
  auto cgroupfs = nc::parse_container_cgroup("/kubepods/besteffort/pod12345678-aaaa-bbbb-cccc-1234567890ab/" + cid);
  REQUIRE(cgroupfs.has_value());
  CHECK(cgroupfs->container_id == cid);
  CHECK_FALSE(nc::parse_container_cgroup("/kubepods.slice/kubepods-pod12345678_aaaa_bbbb_cccc_1234567890ab.slice"));
  CHECK_FALSE(nc::parse_container_cgroup("/system.slice/containerd.service"));
  CHECK(nc::strip_runtime_prefix("containerd://abc") == "abc");
}

TEST_CASE("cgroupfs-driver tree with guaranteed, burstable and besteffort pods") {
  TempDir tmp;
  const fs::path g = tmp.path() / "kubepods" / ("pod" + kUid1) / kCid1;
  const fs::path b = tmp.path() / "kubepods/burstable" / ("pod" + kUid2) / kCid2;
  const fs::path be = tmp.path() / "kubepods/besteffort" / ("pod" + kUid3) / ("crio-" + kCid3);
  for (const auto& p : {g, b, be}) {
    fs::create_directories(p);
  }
  FixedPodLookup pods;
  pods.add(kUid1, {"ns1", "g", {{kCid1, "c"}}});
  pods.add(kUid2, {"ns2", "b", {{kCid2, "c"}}});
  pods.add(kUid3, {"ns3", "be", {{kCid3, "c"}}});
  nc::CgroupResolver r(tmp.path(), pods);
  CHECK(r.rescan() == 6);
  CHECK(r.resolve(nodepack::testing::inode_of(g))->pod == "g");
  CHECK(r.resolve(nodepack::testing::inode_of(b))->pod == "b");
  CHECK(r.resolve(nodepack::testing::inode_of(be))->pod == "be");
  CHECK(r.resolve(nodepack::testing::inode_of(be))->namespace_name == "ns3");
}

TEST_CASE("a pod whose cgroups vanish stays resolvable until released") {
  TempDir tmp;
  const fs::path pod = tmp.path() / "kubepods/burstable" / ("pod" + kUid1);
  const fs::path c = pod / kCid1;
  fs::create_directories(c);
  FixedPodLookup pods;
  pods.add(kUid1, {"ns", "p", {{kCid1, "app"}}});
  nc::CgroupResolver r(tmp.path(), pods);
  r.keep_removed();  // as the kernel collectors ask, to export a last value
  r.rescan();
  const auto id = nodepack::testing::inode_of(c);
  REQUIRE(r.resolve(id));  // caches the labels
  CHECK(r.pod_alive(kUid1));

  fs::remove_all(pod);
  pods.clear();  // the store forgot the pod too
  r.rescan();
  CHECK(r.is_removed(id));
  CHECK_FALSE(r.pod_alive(kUid1));
  auto last = r.resolve(id);
  REQUIRE(last);
  CHECK(last->container == "app");
  auto removed = r.removed();
  CHECK(removed.size() == 2);
  r.release(removed);
  CHECK_FALSE(r.resolve(id));
  CHECK(r.live_count() == 0);
}

TEST_CASE("a container the pod store does not name yet is labelled later") {
  TempDir tmp;
  const fs::path c = tmp.path() / "kubepods" / ("pod" + kUid1) / kCid1;
  fs::create_directories(c);
  FixedPodLookup pods;
  pods.add(kUid1, {"ns", "p", {}});
  nc::CgroupResolver r(tmp.path(), pods);
  r.rescan();
  CHECK(r.resolve(nodepack::testing::inode_of(c))->container.empty());
  pods.at(kUid1).containers[kCid1] = "late";
  CHECK(r.resolve(nodepack::testing::inode_of(c))->container == "late");
}

TEST_CASE("the cgroup v2 root comes from the filesystem type, not the path") {
  TempDir tmp;
  nodepack::HostPaths paths = nodepack::HostPaths::under(tmp.path());
  fs::create_directories(paths.cgroup / "unified");
  fs::create_directories(paths.procfs / "self");
  { std::ofstream(paths.procfs / "self/mountinfo") << "22 1 0:21 / /sys rw - sysfs sysfs rw\n"; }
  auto r = nc::find_cgroup2_root(paths);
  REQUIRE_FALSE(r.has_value());  // plain directories named like cgroupfs are not cgroup v2
  CHECK(r.error().message.find("cgroup v2") != std::string::npos);
}

TEST_CASE("a cgroup id the last walk did not know triggers one rate-limited walk") {
  TempDir tmp;
  const fs::path c1 = tmp.path() / "kubepods" / ("pod" + kUid1) / kCid1;
  const fs::path sshd = tmp.path() / "system.slice/sshd.service";
  fs::create_directories(c1);
  fs::create_directories(sshd);
  FixedPodLookup pods;
  pods.add(kUid1, {"ns", "p", {{kCid1, "app"}, {kCid2, "sidecar"}}});
  nodepack::ManualClock clock;
  nc::CgroupResolver r(tmp.path(), pods);
  r.rescan_on_miss(clock, std::chrono::seconds(1));
  r.rescan();

  // A container started after the last walk (no pod event yet).
  const fs::path c2 = tmp.path() / "kubepods" / ("pod" + kUid1) / kCid2;
  fs::create_directories(c2);
  CHECK_FALSE(r.resolve(nodepack::testing::inode_of(c2)));  // the last walk is under a second old: not walked again
  CHECK(r.miss_rescans() == 0);

  // A later scrape: the id it remembered as "not a pod" stays so; a fresh miss walks once.
  clock.advance(std::chrono::milliseconds(1500));
  CHECK_FALSE(r.resolve(nodepack::testing::inode_of(sshd)));  // walks: finds c2, and sshd is not a pod
  CHECK(r.miss_rescans() == 1);
  // c2 was remembered as unknown in the first window, but any walk that finds it wins.
  CHECK(r.resolve(nodepack::testing::inode_of(c2))->container == "sidecar");
  clock.advance(std::chrono::milliseconds(1500));
  CHECK_FALSE(r.resolve(nodepack::testing::inode_of(sshd)));  // node cgroups never walk again
  CHECK(r.miss_rescans() == 1);

  // The normal case: the first unknown id met after the interval is the new container.
  const fs::path c3 = tmp.path() / "kubepods" / ("pod" + kUid2) / kCid3;
  fs::create_directories(c3);
  pods.add(kUid2, {"ns", "q", {{kCid3, "worker"}}});
  auto id = r.resolve(nodepack::testing::inode_of(c3));
  REQUIRE(id);
  CHECK(id->container == "worker");
  CHECK(r.miss_rescans() == 2);
}

TEST_CASE("kubepods is looked for through the whole tree once, and again only when it goes") {
  TempDir tmp;
  for (int i = 0; i < 20; ++i) {  // a node's services: the walk that finds kubepods lists them all
    fs::create_directories(tmp.path() / "system.slice" / ("unit-" + std::to_string(i) + ".service"));
  }
  const fs::path first = tmp.path() / "kubepods/burstable" / ("pod" + kUid1) / kCid1;
  fs::create_directories(first);
  FixedPodLookup pods;
  pods.add(kUid1, {"ns", "a", {{kCid1, "app"}}});
  pods.add(kUid2, {"ns", "b", {{kCid2, "app"}}});
  nc::CgroupResolver r(tmp.path(), pods);
  CHECK(r.rescan() == 2);
  CHECK(r.discoveries() == 1);

  // Pods come and go under the kubepods found: later rescans see them without a discovery.
  const fs::path second = tmp.path() / "kubepods/besteffort" / ("pod" + kUid2) / kCid2;
  fs::create_directories(second);
  for (int i = 0; i < 10; ++i) {
    CHECK(r.rescan() == 4);
  }
  CHECK(r.discoveries() == 1);
  CHECK(r.resolve(nodepack::testing::inode_of(second))->pod == "b");

  // The kubelet restarted with another cgroup layout: kubepods is gone, found again elsewhere.
  fs::remove_all(tmp.path() / "kubepods");
  const fs::path moved = tmp.path() / "kubelet.slice/kubelet-kubepods.slice" /
                         ("kubelet-kubepods-pod" + underscored(kUid1) + ".slice") /
                         ("cri-containerd-" + kCid1 + ".scope");
  fs::create_directories(moved);
  CHECK(r.rescan() == 2);
  CHECK(r.discoveries() == 2);
  CHECK(r.resolve(nodepack::testing::inode_of(moved))->pod == "a");
}

TEST_CASE("with no kubepods yet (the agent started before the kubelet), every rescan looks for it") {
  TempDir tmp;
  FixedPodLookup pods;
  pods.add(kUid1, {"ns", "a", {{kCid1, "app"}}});
  nc::CgroupResolver r(tmp.path(), pods);
  CHECK(r.rescan() == 0);
  CHECK(r.rescan() == 0);
  CHECK(r.discoveries() == 2);
  fs::create_directories(tmp.path() / "kubepods.slice" / ("kubepods-pod" + underscored(kUid1) + ".slice"));
  CHECK(r.rescan() == 1);
  CHECK(r.discoveries() == 3);
}

TEST_CASE("with a clock, a host without kubepods is listed again every ten seconds, or at a miss") {
  TempDir tmp;
  for (int i = 0; i < 5; ++i) {
    fs::create_directories(tmp.path() / "system.slice" / ("unit-" + std::to_string(i) + ".service"));
  }
  FixedPodLookup pods;
  pods.add(kUid1, {"ns", "a", {{kCid1, "app"}}});
  pods.add(kUid2, {"ns", "b", {{kCid2, "app"}}});
  nodepack::ManualClock clock;
  nc::CgroupResolver r(tmp.path(), pods);
  r.rescan_on_miss(clock, std::chrono::seconds(1));
  CHECK(r.rescan_pods({kUid1}) == 0);
  CHECK(r.discoveries() == 1);
  // Pod events a second apart: the services are not listed again for each.
  for (int i = 0; i < 9; ++i) {
    clock.advance(std::chrono::seconds(1));
    CHECK(r.rescan_pods({kUid1}) == 0);
  }
  CHECK(r.discoveries() == 1);
  clock.advance(std::chrono::seconds(1));
  CHECK(r.rescan_pods({kUid1}) == 0);
  CHECK(r.discoveries() == 2);

  // The kubelet starts: its pods are found at the next look, within ten seconds...
  const fs::path c1 = tmp.path() / "kubepods" / ("pod" + kUid1) / kCid1;
  fs::create_directories(c1);
  clock.advance(std::chrono::seconds(5));
  CHECK(r.rescan_pods({kUid1}) == 0);
  CHECK(r.discoveries() == 2);
  clock.advance(std::chrono::seconds(5));
  CHECK(r.rescan_pods({kUid1}) == 2);
  CHECK(r.discoveries() == 3);
  CHECK(r.resolve(nodepack::testing::inode_of(c1))->pod == "a");
  // ...and from then on pod events walk the kubepods found, without looking again.
  fs::create_directories(tmp.path() / "kubepods" / ("pod" + kUid2) / kCid2);
  CHECK(r.rescan_pods({kUid2}) == 2);
  CHECK(r.discoveries() == 3);
}

TEST_CASE("with a clock and no kubepods lately, a kernel collector's miss still looks for it at once") {
  TempDir tmp;
  FixedPodLookup pods;
  pods.add(kUid1, {"ns", "a", {{kCid1, "app"}}});
  nodepack::ManualClock clock;
  nc::CgroupResolver r(tmp.path(), pods);
  r.rescan_on_miss(clock, std::chrono::seconds(1));
  CHECK(r.rescan() == 0);
  const fs::path c1 = tmp.path() / "kubepods" / ("pod" + kUid1) / kCid1;
  fs::create_directories(c1);
  clock.advance(std::chrono::seconds(2));
  CHECK(r.rescan() == 0);  // within ten seconds of finding none: not looked for
  CHECK(r.discoveries() == 1);
  clock.advance(std::chrono::seconds(2));
  const auto id = r.resolve(nodepack::testing::inode_of(c1));
  REQUIRE(id);
  CHECK(id->container == "app");
  CHECK(r.discoveries() == 2);
}

TEST_CASE("the live cgroups are one shared list until a walk changes them") {
  TempDir tmp;
  const fs::path c1 = tmp.path() / "kubepods" / ("pod" + kUid1) / kCid1;
  fs::create_directories(c1);
  FixedPodLookup pods;
  pods.add(kUid1, {"ns", "a", {{kCid1, "app"}}});
  pods.add(kUid2, {"ns", "b", {{kCid2, "app"}}});
  nc::CgroupResolver r(tmp.path(), pods);
  r.rescan();
  const auto first = r.live_dirs();
  REQUIRE(first != nullptr);
  CHECK(first->size() == 2);      // the pod and its container
  CHECK(r.live_dirs() == first);  // the same list, not a copy
  const auto generation = r.live_generation();
  CHECK(r.live_generation() == generation);
  const fs::path c2 = tmp.path() / "kubepods" / ("pod" + kUid2) / kCid2;
  fs::create_directories(c2);
  r.rescan_pods({kUid2});
  CHECK(r.live_generation() == generation + 1);
  const auto second = r.live_dirs();
  CHECK(second != first);
  CHECK(second->size() == 4);
  CHECK(first->size() == 2);  // a reader holding the old list keeps it whole
  const auto container = std::find_if(second->begin(), second->end(),
                                      [&](const auto& cg) { return cg.id == nodepack::testing::inode_of(c2); });
  REQUIRE(container != second->end());
  CHECK(container->dir == c2);
  CHECK(container->level == nc::CgroupResolver::Level::container);
  CHECK(container->container_id == kCid2);
  fs::remove(c2);
  fs::remove(c2.parent_path());
  r.rescan();
  CHECK(r.live_dirs()->size() == 2);
}

TEST_CASE("a pod cgroup under a kubepods made after a stale one was found is found at its first miss") {
  TempDir tmp;
  // Left behind by something else (a killed test run, an old kubelet layout): found first.
  const fs::path stale = tmp.path() / "leftover/kubepods.slice" / ("kubepods-pod" + underscored(kUid3) + ".slice");
  fs::create_directories(stale);
  FixedPodLookup pods;
  pods.add(kUid1, {"ns", "a", {{kCid1, "app"}}});
  nodepack::ManualClock clock;
  nc::CgroupResolver r(tmp.path(), pods);
  r.rescan_on_miss(clock, std::chrono::seconds(1));
  CHECK(r.rescan() == 1);
  CHECK(r.discoveries() == 1);

  // The node's own kubepods, made afterwards: pod-event rescans walk only the one found.
  const fs::path live = tmp.path() / "kubepods.slice" / ("kubepods-pod" + underscored(kUid1) + ".slice") /
                        ("cri-containerd-" + kCid1 + ".scope");
  fs::create_directories(live);
  CHECK(r.rescan() == 1);
  CHECK(r.discoveries() == 1);

  // A kernel collector meets the container's cgroup id: the walk it triggers looks for kubepods.
  clock.advance(std::chrono::milliseconds(1500));
  const auto id = r.resolve(nodepack::testing::inode_of(live));
  REQUIRE(id);
  CHECK(id->pod == "a");
  CHECK(id->container == "app");
  CHECK(r.miss_rescans() == 1);
  CHECK(r.discoveries() == 2);
  CHECK(r.kubepods_dirs().size() == 2);
  // Once found, pod-event rescans walk both again without looking.
  CHECK(r.rescan() == 3);
  CHECK(r.discoveries() == 2);
}

TEST_CASE("a pod-event rescan walks only the pods named: their new and gone cgroups, no one else's") {
  TempDir tmp;
  const fs::path pod1 = tmp.path() / "kubepods/burstable" / ("pod" + kUid1);
  const fs::path pod2 = tmp.path() / "kubepods" / ("pod" + kUid2);  // Guaranteed: under kubepods itself
  fs::create_directories(pod1 / kCid1);
  fs::create_directories(pod2 / kCid2);
  FixedPodLookup pods;
  pods.add(kUid1, {"ns", "a", {{kCid1, "app"}, {kCid3, "sidecar"}}});
  pods.add(kUid2, {"ns", "b", {{kCid2, "app"}, {kCid3, "sidecar"}}});
  nc::CgroupResolver r(tmp.path(), pods);
  CHECK(r.rescan() == 4);

  // Both pods gain a container; only the first pod's event is in.
  fs::create_directories(pod1 / kCid3);
  fs::create_directories(pod2 / kCid3);
  CHECK(r.rescan_pods({kUid1}) == 3);  // pod 1 and its two containers
  const auto new1 = r.resolve(nodepack::testing::inode_of(pod1 / kCid3));
  REQUIRE(new1);
  CHECK(new1->pod == "a");
  CHECK(new1->container == "sidecar");
  CHECK_FALSE(r.resolve(nodepack::testing::inode_of(pod2 / kCid3)));        // pod 2 was not walked
  CHECK(r.resolve(nodepack::testing::inode_of(pod2 / kCid2))->pod == "b");  // nor forgotten
  CHECK(r.discoveries() == 1);

  // Pod 1's first container goes: its cgroup is forgotten at pod 1's next event.
  const auto gone = nodepack::testing::inode_of(pod1 / kCid1);
  fs::remove(pod1 / kCid1);
  CHECK(r.rescan_pods({kUid1}) == 2);
  CHECK_FALSE(r.resolve(gone));

  // A pod named that has no directory (bound, not started yet): nothing found, nothing lost.
  CHECK(r.rescan_pods({kUid3}) == 0);
  CHECK(r.live_count() == 4);  // pod 1 and its sidecar, pod 2 and its app

  // A full rescan (a relist) sees every pod again.
  CHECK(r.rescan() == 5);
  CHECK(r.resolve(nodepack::testing::inode_of(pod2 / kCid3))->container == "sidecar");
}

TEST_CASE("a pod-event rescan with no kubepods known looks for it, as a full rescan does") {
  TempDir tmp;
  FixedPodLookup pods;
  pods.add(kUid1, {"ns", "a", {{kCid1, "app"}}});
  nc::CgroupResolver r(tmp.path(), pods);
  CHECK(r.rescan_pods({kUid1}) == 0);
  CHECK(r.discoveries() == 1);
  fs::create_directories(tmp.path() / "kubepods/besteffort" / ("pod" + kUid1) / kCid1);
  CHECK(r.rescan_pods({kUid1}) == 2);
  CHECK(r.discoveries() == 2);
  CHECK(r.rescan_pods({kUid1}) == 2);  // found: no further discovery
  CHECK(r.discoveries() == 2);
}

TEST_CASE("a pod-event rescan finds the named pods by the systemd driver's names, nested kubepods too") {
  TempDir tmp;
  const fs::path burstable = tmp.path() / "kubepods.slice/kubepods-burstable.slice" /
                             ("kubepods-burstable-pod" + underscored(kUid1) + ".slice");
  const fs::path guaranteed = tmp.path() / "kubepods.slice" / ("kubepods-pod" + underscored(kUid2) + ".slice");
  const fs::path nested = tmp.path() / "kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice" /
                          ("kubelet-kubepods-besteffort-pod" + underscored(kUid3) + ".slice");
  for (const auto& pod : {burstable, guaranteed, nested}) {
    fs::create_directories(pod);
  }
  FixedPodLookup pods;
  pods.add(kUid1, {"ns", "a", {{kCid1, "app"}}});
  pods.add(kUid2, {"ns", "b", {{kCid2, "app"}}});
  pods.add(kUid3, {"ns", "c", {{kCid3, "app"}}});
  nc::CgroupResolver r(tmp.path(), pods);
  CHECK(r.rescan() == 3);  // the three pod cgroups, no container yet
  CHECK(r.kubepods_dirs().size() == 2);

  // Each pod's container starts; each pod's event names it alone.
  const fs::path c1 = burstable / ("cri-containerd-" + kCid1 + ".scope");
  const fs::path c2 = guaranteed / ("cri-containerd-" + kCid2 + ".scope");
  const fs::path c3 = nested / ("cri-containerd-" + kCid3 + ".scope");
  for (const auto& c : {c1, c2, c3}) {
    fs::create_directories(c);
  }
  CHECK(r.rescan_pods({kUid1}) == 2);
  CHECK(r.rescan_pods({kUid2}) == 2);
  CHECK(r.rescan_pods({kUid3}) == 2);
  CHECK(r.resolve(nodepack::testing::inode_of(c1))->pod == "a");
  CHECK(r.resolve(nodepack::testing::inode_of(c2))->pod == "b");
  CHECK(r.resolve(nodepack::testing::inode_of(c3))->pod == "c");
  CHECK(r.discoveries() == 1);
}
