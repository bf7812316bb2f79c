// Real mount namespaces: a fake pod's container process has its own mounts, with a volume
// bind-mounted from a kubelet-shaped pods directory on a 4 MiB tmpfs holding a 1 MiB file; the
// fs collector reports that volume's exact size, use and free space for that container, and
// nothing for a neighbour that shares the node's mounts.
#include "kpod/registry.hpp"
#include "tests/support/kernel_env.hpp"
#include "tests/support/pod_ns.hpp"
#include "tests/support/test_registry.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <vector>

namespace nt = nodepack::testing;
namespace fs = std::filesystem;
using nt::find_metric;

namespace {

const std::string kUidVol = "0f1e2d3c-0000-4000-8000-0000000000b7";
const std::string kUidHost = "0f1e2d3c-0000-4000-8000-0000000000c7";
const std::string kCidVol = std::string(60, 'b') + "0007";
const std::string kCidHost = std::string(60, 'c') + "0007";

constexpr double kMiB = 1024.0 * 1024.0;

bool write_file(const fs::path& p, std::size_t bytes) {
  int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return false;
  }
  std::vector<char> buf(bytes, 'v');
  bool ok = ::write(fd, buf.data(), buf.size()) == static_cast<ssize_t>(buf.size());
  return ::close(fd) == 0 && ok;
}

}  // namespace

TEST_CASE("fs: a container's volume mount is measured in its own mount namespace", "[bpf][fs]") {
  NODEPACK_REQUIRE_ROOT_OR_SKIP();  // root and cgroup v2 (no BPF program is loaded here)
  nt::KubepodsTree tree;
  nt::FixedPodLookup lookup;
  auto vol_cg = tree.add_container(kUidVol, kCidVol);
  auto host_cg = tree.add_container(kUidHost, kCidHost);
  lookup.add(kUidVol, {"data", "volumes", {{kCidVol, "app"}}});
  lookup.add(kUidHost, {"data", "shares-node", {{kCidHost, "app"}}});

  // Plain directories on the node; the child mounts over them in its own namespace only.
  const fs::path base = fs::temp_directory_path() / ("nodepack-fs-test-" + std::to_string(::getpid()));
  const fs::path kubelet = base / "kubelet";
  const fs::path mount_point = base / "cache";
  fs::create_directories(kubelet);
  fs::create_directories(mount_point);
  struct Cleanup {
    fs::path p;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(p, ec);
    }
  } cleanup{base};

  nt::Signal vol_ready, host_ready, stop;
  int vol = nt::spawn_in_cgroup(vol_cg, [&] {
    stop.close_write();
    const fs::path volume = kubelet / "pods" / kUidVol / "volumes/kubernetes.io~empty-dir/cache";
    std::error_code ec;
    if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        ::mount("tmpfs", kubelet.c_str(), "tmpfs", 0, "size=4m") != 0 || !fs::create_directories(volume, ec) ||
        ::mount(volume.c_str(), mount_point.c_str(), nullptr, MS_BIND, nullptr) != 0 ||
        !write_file(mount_point / "blob", 1024 * 1024)) {
      ::_exit(20);
    }
    vol_ready.notify();
    stop.wait();
    ::_exit(0);
  });
  int host = nt::spawn_in_cgroup(host_cg, [&] {
    stop.close_write();
    host_ready.notify();
    stop.wait();
    ::_exit(0);
  });
  vol_ready.close_write();
  host_ready.close_write();
  const bool ready = vol_ready.wait() && host_ready.wait();

  nodepack::kpod::RegistryOptions opts;
  opts.collectors.node = "test-node";
  opts.profile = nodepack::kpod::Profile::comprehensive;
  nt::TestRegistry reg(opts, tree.root(), lookup, nt::pick_specs(nodepack::kpod::file_collectors(), {"fs"}));
  reg->start();
  REQUIRE(reg->status()["fs"]);
  auto families = reg->Collect();
  stop.close_write();
  nt::wait_all({vol, host});
  REQUIRE(ready);

  const std::map<std::string, std::string> cache{
      {"namespace", "data"}, {"pod", "volumes"}, {"container", "app"}, {"mountpoint", mount_point.string()}};
  auto value = [&](const char* name) {
    auto* m = find_metric(families, name, cache);
    REQUIRE(m != nullptr);
    return m->gauge.value;
  };
  // tmpfs counts pages: 4 MiB in all, the 1 MiB file uses 256 of them, directories none.
  CHECK(value("kpod_fs_capacity_bytes") == 4 * kMiB);
  CHECK(value("kpod_fs_usage_bytes") == 1 * kMiB);
  CHECK(value("kpod_fs_available_bytes") == 3 * kMiB);
  // The container's root is reported too; the node's own mount of the same path is not a volume.
  CHECK(find_metric(families, "kpod_fs_capacity_bytes", {{"pod", "volumes"}, {"mountpoint", "/"}}) != nullptr);
  CHECK(find_metric(families, "kpod_fs_capacity_bytes", {{"pod", "shares-node"}}) == nullptr);
}
