// The iface and fs collectors on fixture trees: a pod's network namespace and mounts are found
// through one of its processes (<procfs>/<pid>/...), host-namespace pods are left out, and a
// pod's interface series are exported once more after its cgroups go, then dropped.
#include "kpod/fs/fs_collector.hpp"
#include "kpod/netiface/net_iface_collector.hpp"
#include "kpod/registry.hpp"
#include "tests/support/fake_pods.hpp"
#include "tests/support/kernel_env.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_registry.hpp"

#include <catch2/catch.hpp>

#include <sys/statvfs.h>

#include <algorithm>

#include <filesystem>

namespace nk = nodepack::kpod;
using nodepack::testing::find_metric;
using nodepack::testing::FixedPodLookup;
namespace fs = std::filesystem;

namespace {

std::size_t count_series(const std::vector<prometheus::MetricFamily>& fams, const std::string& name) {
  for (const auto& f : fams) {
    if (f.name == name) {
      return f.metric.size();
    }
  }
  return 0;
}

const std::string kUidA = "aaaaaaaa-0000-4000-8000-000000000001";
const std::string kUidB = "bbbbbbbb-0000-4000-8000-000000000002";
const std::string kCidA(64, 'a');
const std::string kCidB(64, 'b');

std::string pod_dir(const std::string& uid) {
  std::string u = uid;
  std::replace(u.begin(), u.end(), '-', '_');
  return "sys/fs/cgroup/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + u + ".slice";
}

const char* kNetDevHeader =
    "Inter-|   Receive                                                |  Transmit\n"
    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier "
    "compressed\n";

nodepack::testing::TestRegistry registry(const nodepack::HostPaths& paths, const FixedPodLookup& pods,
                                         const std::string& collector,
                                         const nodepack::Clock* clock = &nodepack::SystemClock::instance()) {
  nk::RegistryOptions opts;
  opts.collectors.paths = paths;
  opts.collectors.clock = clock;
  opts.collectors.node = "n1";
  nodepack::testing::TestRegistry reg(opts, paths.cgroup, pods,
                                      nodepack::testing::pick_specs(nk::file_collectors(), {collector}));
  reg->start();
  REQUIRE(reg->status()[collector]);
  return reg;
}

}  // namespace

TEST_CASE("net/dev parser: every interface but lo, rx and tx columns") {
  auto parsed = nk::parse_net_dev(std::string(kNetDevHeader) +
                                  "    lo:    1000      10    0    0    0     0          0         0     1000      10  "
                                  "  0    0    0     0       0          0\n"
                                  "  eth0:12345678  100    1    2    0     0          0         0   5000      50    3  "
                                  "  4    0     0       0          0\n"
                                  "garbage line\n"
                                  "  net1: 7 1 0 0 0 0 0 0 9 2 0 0 0 0 0 0\n");
  REQUIRE(parsed.has_value());
  REQUIRE(parsed->size() == 2);
  const auto& [name, c] = parsed->at(0);
  CHECK(name == "eth0");
  CHECK(c.rx_bytes == 12345678);
  CHECK(c.rx_packets == 100);
  CHECK(c.rx_errors == 1);
  CHECK(c.rx_drops == 2);
  CHECK(c.tx_bytes == 5000);
  CHECK(c.tx_packets == 50);
  CHECK(c.tx_errors == 3);
  CHECK(c.tx_drops == 4);
  CHECK(parsed->at(1).first == "net1");
  CHECK(parsed->at(1).second.tx_bytes == 9);
  CHECK_FALSE(nk::parse_net_dev("eth0: 1 2 3\n").has_value());  // no header: not a net/dev file
}

TEST_CASE("iface: per-pod interface counters from the pod's network namespace, host-network pods skipped") {
  nodepack::testing::TempDir dir;
  auto paths = nodepack::HostPaths::under(dir.path());
  // Pod A: a container process (pid 100) in its own network namespace.
  dir.write(pod_dir(kUidA) + "/cri-containerd-" + kCidA + ".scope/cgroup.procs", "100\n");
  dir.write(pod_dir(kUidA) + "/cgroup.procs", "");
  // CRI-O's monitor sits in the pod cgroup but in the node's namespaces: never the pod's process.
  dir.write(pod_dir(kUidA) + "/crio-conmon-" + kCidA + ".scope/cgroup.procs", "300\n");
  fs::create_directories(dir.path() / "proc/300/ns");
  fs::create_symlink("../../1/ns/net", dir.path() / "proc/300/ns/net");
  dir.write("proc/1/ns/net", "host netns");
  dir.write("proc/100/ns/net", "pod A netns");
  dir.write("proc/100/net/dev", std::string(kNetDevHeader) +
                                    "    lo:  999 9 0 0 0 0 0 0 999 9 0 0 0 0 0 0\n"
                                    "  eth0: 1500 10 0 1 0 0 0 0 3000 20 0 0 0 0 0 0\n");
  // Pod B: hostNetwork (its process's ns/net is the host's); a dead pid is listed first.
  dir.write(pod_dir(kUidB) + "/cri-containerd-" + kCidB + ".scope/cgroup.procs", "4242\n200\n");
  fs::create_directories(dir.path() / "proc/200/ns");
  fs::create_symlink("../../1/ns/net", dir.path() / "proc/200/ns/net");
  dir.write("proc/200/net/dev", std::string(kNetDevHeader) + "  eth0: 77 1 0 0 0 0 0 0 77 1 0 0 0 0 0 0\n");

  FixedPodLookup pods;
  pods.add(kUidA, {"shop", "cart-0", {{kCidA, "cart"}}});
  pods.add(kUidB, {"kube-system", "proxy-0", {{kCidB, "proxy"}}});
  auto reg = registry(paths, pods, "iface");

  auto fams = reg->Collect();
  const std::map<std::string, std::string> a{
      {"namespace", "shop"}, {"pod", "cart-0"}, {"node", "n1"}, {"interface", "eth0"}};
  CHECK(find_metric(fams, "kpod_net_iface_rx_bytes_total", a)->counter.value == 1500);
  CHECK(find_metric(fams, "kpod_net_iface_rx_packets_total", a)->counter.value == 10);
  CHECK(find_metric(fams, "kpod_net_iface_rx_drops_total", a)->counter.value == 1);
  CHECK(find_metric(fams, "kpod_net_iface_tx_bytes_total", a)->counter.value == 3000);
  CHECK(find_metric(fams, "kpod_net_iface_tx_packets_total", a)->counter.value == 20);
  // Pod level only: no container label; lo and the host-network pod are not there.
  for (const auto& l : find_metric(fams, "kpod_net_iface_rx_bytes_total", a)->label) {
    CHECK(l.name != "container");
  }
  CHECK(count_series(fams, "kpod_net_iface_rx_bytes_total") == 1);
  CHECK(find_metric(fams, "kpod_net_iface_rx_bytes_total", {{"pod", "proxy-0"}}) == nullptr);

  // Pod A is deleted: its last values once more, then no series.
  fs::remove_all(dir.path() / pod_dir(kUidA));
  reg->rescan();
  fams = reg->Collect();
  CHECK(find_metric(fams, "kpod_net_iface_tx_bytes_total", a)->counter.value == 3000);
  fams = reg->Collect();
  CHECK(count_series(fams, "kpod_net_iface_tx_bytes_total") == 0);
}

TEST_CASE("iface: a pod is read again through the same process while its namespace link holds") {
  nodepack::testing::TempDir dir;
  auto paths = nodepack::HostPaths::under(dir.path());
  const std::string procs = pod_dir(kUidA) + "/cri-containerd-" + kCidA + ".scope/cgroup.procs";
  dir.write(procs, "100\n");
  dir.write("proc/1/ns/net", "host netns");
  dir.write("proc/100/ns/net", "pod A netns");
  auto net_dev = [&](int pid, int rx_bytes) {
    dir.write("proc/" + std::to_string(pid) + "/net/dev",
              std::string(kNetDevHeader) + "  eth0: " + std::to_string(rx_bytes) + " 10 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n");
  };
  net_dev(100, 1500);
  FixedPodLookup pods;
  pods.add(kUidA, {"shop", "cart-0", {{kCidA, "cart"}}});
  auto reg = registry(paths, pods, "iface");
  const std::map<std::string, std::string> a{{"pod", "cart-0"}, {"interface", "eth0"}};
  CHECK(find_metric(reg->Collect(), "kpod_net_iface_rx_bytes_total", a)->counter.value == 1500);

  // The cgroup's process list is not read again while the process's namespace is the same.
  dir.write(procs, "");
  net_dev(100, 2500);
  CHECK(find_metric(reg->Collect(), "kpod_net_iface_rx_bytes_total", a)->counter.value == 2500);

  // Pid 100 is now a process in another namespace (its link another inode: made before the old
  // one goes, so the two cannot share a number): the pod's process is looked up afresh.
  dir.write("proc/100/ns/net.next", "another pod's netns");
  fs::rename(dir.path() / "proc/100/ns/net.next", dir.path() / "proc/100/ns/net");
  net_dev(100, 9999);
  dir.write(procs, "101\n");
  dir.write("proc/101/ns/net", "pod A netns, restarted");
  net_dev(101, 4000);
  CHECK(find_metric(reg->Collect(), "kpod_net_iface_rx_bytes_total", a)->counter.value == 4000);
}

TEST_CASE("fs: the container's root and its kubelet volume mounts, nothing else") {
  const std::string info =
      "2001 1900 0:300 / / rw,relatime - overlay overlay rw,lowerdir=/l,upperdir=/u\n"
      "2002 2001 0:301 / /proc rw - proc proc rw\n"
      "2003 2001 8:1 /var/lib/kubelet/pods/" +
      kUidA +
      "/volumes/kubernetes.io~empty-dir/cache /cache rw - ext4 /dev/sda1 rw\n"
      "2004 2001 8:1 /var/lib/kubelet/pods/" +
      kUidA +
      "/etc-hosts /etc/hosts rw - ext4 /dev/sda1 rw\n"
      "2005 2001 8:2 /pods/" +
      kUidA +
      "/volumes/kubernetes.io~csi/pvc-1/mount /data\\040dir rw - xfs /dev/sdb rw\n"
      "2006 2001 8:1 /var/lib/kubelet/pods/" +
      kUidB +
      "/volumes/kubernetes.io~empty-dir/x /other rw - ext4 /dev/sda1 rw\n"
      "2007 2001 0:302 / /dev/shm rw - tmpfs shm rw\n"
      "2008 2001 8:3 /lib/kubelet/pods/" +
      kUidA +
      "/volumes/kubernetes.io~empty-dir/logs /logs rw - ext4 /dev/sdc rw\n"
      "2009 2001 8:1 /srv/pods/" +
      kUidA + "/volumes/x /elsewhere rw - ext4 /dev/sda1 rw\n";
  // /var/lib/kubelet on the root filesystem, on its own (/pods/...), inside a separate /var
  // (/lib/kubelet/pods/...); a pods directory outside the kubelet root is not a volume.
  auto mounts = nk::pod_volume_mounts(info, kUidA, "/var/lib/kubelet");
  CHECK(mounts == std::vector<std::string>{"/", "/cache", "/data dir", "/logs"});
}

TEST_CASE("fs: statvfs through the process's root, per container, host mount namespace skipped") {
  nodepack::testing::TempDir dir;
  auto paths = nodepack::HostPaths::under(dir.path());
  dir.write(pod_dir(kUidA) + "/cri-containerd-" + kCidA + ".scope/cgroup.procs", "100\n");
  dir.write(pod_dir(kUidB) + "/cri-containerd-" + kCidB + ".scope/cgroup.procs", "200\n");
  dir.write("proc/1/ns/mnt", "host mntns");
  dir.write("proc/100/ns/mnt", "pod A mntns");
  dir.write("proc/100/mountinfo",
            "1 0 0:1 / / rw - overlay overlay rw\n"
            "2 1 8:1 /var/lib/kubelet/pods/" +
                kUidA + "/volumes/kubernetes.io~empty-dir/cache /cache rw - ext4 /dev/sda1 rw\n");
  fs::create_directories(dir.path() / "proc/100/root/cache");
  fs::create_directories(dir.path() / "proc/200/ns");
  fs::create_symlink("../../1/ns/mnt", dir.path() / "proc/200/ns/mnt");
  dir.write("proc/200/mountinfo", "1 0 0:1 / / rw - ext4 /dev/sda1 rw\n");

  FixedPodLookup pods;
  pods.add(kUidA, {"shop", "cart-0", {{kCidA, "cart"}}});
  pods.add(kUidB, {"kube-system", "proxy-0", {{kCidB, "proxy"}}});
  auto reg = registry(paths, pods, "fs");
  auto fams = reg->Collect();

  // The fixture lives on whatever filesystem holds the temp dir: compare with its statvfs.
  struct statvfs st {};
  REQUIRE(::statvfs((dir.path() / "proc/100/root/cache").c_str(), &st) == 0);
  const std::map<std::string, std::string> cache{{"pod", "cart-0"}, {"container", "cart"}, {"mountpoint", "/cache"}};
  const auto* cap = find_metric(fams, "kpod_fs_capacity_bytes", cache);
  REQUIRE(cap != nullptr);
  CHECK(cap->gauge.value == static_cast<double>(st.f_blocks) * static_cast<double>(st.f_frsize));
  CHECK(find_metric(fams, "kpod_fs_available_bytes", cache) != nullptr);
  CHECK(find_metric(fams, "kpod_fs_usage_bytes", {{"pod", "cart-0"}, {"mountpoint", "/"}}) != nullptr);
  CHECK(count_series(fams, "kpod_fs_usage_bytes") == 2);  // pod B shares the host's mounts
}

TEST_CASE("fs: mounts are measured again after 10 s, listed again after 60 s or in a new namespace") {
  nodepack::testing::TempDir dir;
  auto paths = nodepack::HostPaths::under(dir.path());
  dir.write(pod_dir(kUidA) + "/cri-containerd-" + kCidA + ".scope/cgroup.procs", "100\n");
  dir.write("proc/1/ns/mnt", "host mntns");
  dir.write("proc/100/ns/mnt", "pod A mntns");
  const std::string root = "1 0 0:1 / / rw - overlay overlay rw\n";
  const std::string cache = "2 1 8:1 /var/lib/kubelet/pods/" + kUidA +
                            "/volumes/kubernetes.io~empty-dir/cache /cache rw - ext4 /dev/sda1 rw\n";
  const std::string logs =
      "3 1 8:1 /var/lib/kubelet/pods/" + kUidA + "/volumes/kubernetes.io~empty-dir/logs /logs rw - ext4 /dev/sda1 rw\n";
  dir.write("proc/100/mountinfo", root);
  fs::create_directories(dir.path() / "proc/100/root/cache");
  fs::create_directories(dir.path() / "proc/100/root/logs");
  FixedPodLookup pods;
  pods.add(kUidA, {"shop", "cart-0", {{kCidA, "cart"}}});
  nodepack::ManualClock clock;
  auto reg = registry(paths, pods, "fs", &clock);
  auto series = [&] { return count_series(reg->Collect(), "kpod_fs_usage_bytes"); };
  CHECK(series() == 1);

  // A volume mounted since: not listed until 60 s after the last listing.
  dir.write("proc/100/mountinfo", root + cache);
  clock.advance(std::chrono::seconds(9));
  CHECK(series() == 1);
  clock.advance(std::chrono::seconds(1));  // measured again (the root's statvfs), not listed
  CHECK(series() == 1);
  clock.advance(std::chrono::seconds(50));
  CHECK(series() == 2);

  // Measured again every 10 s from the kept list: a mount point that no longer answers statvfs
  // drops out at the next measurement, before any listing.
  fs::remove(dir.path() / "proc/100/root/cache");
  clock.advance(std::chrono::seconds(9));
  CHECK(series() == 2);
  clock.advance(std::chrono::seconds(1));
  CHECK(series() == 1);
  fs::create_directories(dir.path() / "proc/100/root/cache");

  // The container's process now in another mount namespace (a restart): listed at the next
  // measurement, not a minute later.
  dir.write("proc/100/mountinfo", root + cache + logs);
  dir.write("proc/100/ns/mnt.next", "pod A mntns, restarted");
  fs::rename(dir.path() / "proc/100/ns/mnt.next", dir.path() / "proc/100/ns/mnt");
  clock.advance(std::chrono::seconds(10));
  CHECK(series() == 3);
}

TEST_CASE("fs: a container whose mount namespace is not ours to read fails every scrape, read or not") {
  nodepack::testing::TempDir dir;
  auto paths = nodepack::HostPaths::under(dir.path());
  dir.write(pod_dir(kUidA) + "/cri-containerd-" + kCidA + ".scope/cgroup.procs", "300\n");
  dir.write("proc/1/ns/mnt", "host mntns");
  fs::create_directories(dir.path() / "proc/300");  // alive, but no namespace link we can read
  FixedPodLookup pods;
  pods.add(kUidA, {"shop", "cart-0", {{kCidA, "cart"}}});
  nodepack::ManualClock clock;
  auto reg = registry(paths, pods, "fs", &clock);
  auto errors = [&] {
    return find_metric(reg->Collect(), "nodepack_collector_errors_total", {{"collector", "fs"}})->counter.value;
  };
  CHECK(errors() == 1);
  clock.advance(std::chrono::seconds(1));  // within the refresh: the last read still says so
  CHECK(errors() == 2);
}
