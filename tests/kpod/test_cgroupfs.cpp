#include "kpod/cgroupfs/cgroupfs_collector.hpp"
#include "kpod/registry.hpp"
#include "tests/support/fake_pods.hpp"
#include "tests/support/kernel_env.hpp"
#include "tests/support/test_registry.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace nk = nodepack::kpod;
using nodepack::testing::find_metric;
using nodepack::testing::FixedPodLookup;
namespace fs = std::filesystem;

namespace {

void put(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

const std::string kUid = "12345678-aaaa-bbbb-cccc-1234567890ab";
const std::string kCid1(64, '7');
const std::string kCid2(64, '8');

}  // namespace

TEST_CASE("cgroup file parsers") {
  auto flat = nk::parse_flat_keyed("anon 100\nfile 2048\npgmajfault 7\nbogus x\n");
  CHECK(flat.at("file") == 2048);
  CHECK(flat.at("pgmajfault") == 7);
  CHECK(flat.count("bogus") == 0);
  auto io = nk::parse_io_stat(
      "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n259:1 rbytes=1 wbytes=0 rios=1 wios=0\n");
  REQUIRE(io.size() == 2);
  CHECK(io.at("8:0").wbytes == 8192);
  CHECK(io.at("8:0").wios == 2);
  CHECK(io.at("259:1").rbytes == 1);
  CHECK(nk::parse_single_value("123\n") == 123u);
  CHECK_FALSE(nk::parse_single_value("max\n").has_value());
}

TEST_CASE("cgroupfs: container files under an injected host root become kpod series") {
  const fs::path host = fs::temp_directory_path() / ("nodepack-cgroupfs-" + std::to_string(::getpid()));
  struct Cleanup {
    fs::path p;
    ~Cleanup() { fs::remove_all(p); }
  } cleanup{host};
  auto paths = nodepack::HostPaths::under(host);
  const fs::path pod = paths.cgroup / "kubepods.slice/kubepods-burstable.slice" /
                       ("kubepods-burstable-pod" + std::string("12345678_aaaa_bbbb_cccc_1234567890ab") + ".slice");
  const fs::path c1 = pod / ("cri-containerd-" + kCid1 + ".scope");
  put(c1 / "memory.current", "1048576\n");
  put(c1 / "memory.peak", "2097152\n");
  put(c1 / "memory.swap.current", "0\n");
  put(c1 / "memory.stat", "anon 4096\nfile 65536\ninactive_file 49152\npgfault 120\npgmajfault 3\n");
  put(c1 / "cpu.stat",
      "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\nnr_periods 10\nnr_throttled 4\nthrottled_usec "
      "300000\n");
  put(c1 / "io.stat", "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n");
  put(c1 / "pids.current", "5\n");
  put(pod / "memory.current", "999999999\n");  // pod level: not exported (would double count)
  put(paths.sysfs / "dev/block/8:0/uevent", "MAJOR=8\nMINOR=0\nDEVNAME=sda\nDEVTYPE=disk\n");

  FixedPodLookup pods;
  pods.add(kUid, {"shop", "cart-0", {{kCid1, "cart"}, {kCid2, "cart"}}});
  nk::RegistryOptions opts;
  opts.collectors.paths = paths;
  opts.collectors.node = "n1";
  // The fixture is plain directories, so give the resolver its root directly.
  nodepack::testing::TestRegistry reg(opts, paths.cgroup, pods,
                                      nodepack::testing::pick_specs(nk::file_collectors(), {"cgroupfs"}));
  reg->start();
  REQUIRE(reg->status()["cgroupfs"]);

  auto fams = reg->Collect();
  const std::map<std::string, std::string> who{
      {"namespace", "shop"}, {"pod", "cart-0"}, {"container", "cart"}, {"node", "n1"}};
  CHECK(find_metric(fams, "kpod_mem_cgroup_usage_bytes", who)->gauge.value == 1048576);
  CHECK(find_metric(fams, "kpod_mem_cgroup_peak_bytes", who)->gauge.value == 2097152);
  CHECK(find_metric(fams, "kpod_mem_cgroup_cache_bytes", who)->gauge.value == 65536);
  CHECK(find_metric(fams, "kpod_mem_cgroup_swap_bytes", who)->gauge.value == 0);
  CHECK(find_metric(fams, "kpod_pids_current", who)->gauge.value == 5);
  CHECK(find_metric(fams, "kpod_mem_major_page_faults_total", who)->counter.value == 3);
  CHECK(find_metric(fams, "kpod_mem_page_faults_total", who)->counter.value == 120);
  CHECK(find_metric(fams, "kpod_mem_cgroup_rss_bytes", who)->gauge.value == 4096);
  // memory.current 1048576 - inactive_file 49152 = 999424.
  CHECK(find_metric(fams, "kpod_mem_cgroup_working_set_bytes", who)->gauge.value == 999424);
  CHECK(find_metric(fams, "kpod_cpu_usage_seconds_total", who)->counter.value == Approx(2.5));
  CHECK(find_metric(fams, "kpod_cpu_throttled_seconds_total", who)->counter.value == Approx(0.3));
  CHECK(find_metric(fams, "kpod_cpu_throttled_periods_total", who)->counter.value == 4);
  auto dev = who;
  dev["device"] = "sda";
  CHECK(find_metric(fams, "kpod_disk_written_bytes_total", dev)->counter.value == 8192);
  CHECK(find_metric(fams, "kpod_disk_reads_total", dev)->counter.value == 1);
  CHECK(find_metric(fams, "nodepack_cgroup_read_errors_total", {{"collector", "cgroupfs"}})->counter.value == 0);
  // Only the container level: one usage series.
  for (const auto& f : fams) {
    if (f.name == "kpod_mem_cgroup_usage_bytes") {
      CHECK(f.metric.size() == 1);
    }
  }

  // The container restarts: counters continue from the old cgroup's last values.
  const fs::path c2 = pod / ("cri-containerd-" + kCid2 + ".scope");
  put(c2 / "memory.current", "4096\n");
  // inactive_file above memory.current (they are read at different moments): floored at 0.
  put(c2 / "memory.stat", "file 0\ninactive_file 8192\npgfault 30\npgmajfault 1\n");
  put(c2 / "io.stat", "8:0 rbytes=0 wbytes=100 rios=0 wios=1\n");
  fs::remove_all(c1);
  reg->rescan();
  fams = reg->Collect();
  CHECK(find_metric(fams, "kpod_mem_cgroup_usage_bytes", who)->gauge.value == 4096);      // gauges: the live one
  CHECK(find_metric(fams, "kpod_mem_major_page_faults_total", who)->counter.value == 4);  // 3 + 1
  CHECK(find_metric(fams, "kpod_mem_page_faults_total", who)->counter.value == 150);      // 120 + 30
  CHECK(find_metric(fams, "kpod_mem_cgroup_working_set_bytes", who)->gauge.value == 0);
  CHECK(find_metric(fams, "kpod_disk_written_bytes_total", dev)->counter.value == 8292);
  CHECK(find_metric(fams, "kpod_disk_writes_total", dev)->counter.value == 3);

  // Missing files (pids, swap on the new container) are "no data", not errors.
  auto* up = find_metric(fams, "nodepack_collector_up", {{"collector", "cgroupfs"}});
  REQUIRE(up != nullptr);
  CHECK(up->gauge.value == 1);
  CHECK(find_metric(fams, "nodepack_collector_errors_total", {{"collector", "cgroupfs"}})->counter.value == 0);
  // But the new container has no cpu.stat, which every live cgroup has: a read error (the
  // removed one, whose directory is gone, is not).
  CHECK(find_metric(fams, "nodepack_cgroup_read_errors_total", {{"collector", "cgroupfs"}})->counter.value == 1);
}
