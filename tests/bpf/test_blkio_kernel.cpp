// Real blkio programs: O_DIRECT I/O is charged to the request's blkcg (the issuing process's io
// cgroup), whatever context completes it; on a hybrid host (io on v1) to the submitter's v2
// cgroup.
#include "bpf/blkio/blkio.h"
#include "bpf/cgroup_map_collector.hpp"
#include "cgroup/v2_root.hpp"
#include "tests/bpf/bpf_registry.hpp"

#include "tests/support/fixtures.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>

namespace nb = nodepack::bpf;
namespace fs = std::filesystem;
using nb::test::find_metric;

namespace {

bool v2_has_io_controller(const fs::path& v2_root) {
  std::ifstream in(v2_root / "cgroup.controllers");
  std::string c;
  while (in >> c) {
    if (c == "io") {
      return true;
    }
  }
  return false;
}

}  // namespace

TEST_CASE("blkio: O_DIRECT requests are charged to the issuing cgroup's blkcg", "[bpf][blkio]") {
  NODEPACK_REQUIRE_BPF_OR_SKIP();
  const std::string uid = "0f1e2d3c-0000-4000-8000-0000000000a5";
  const std::string cid(64, '6');
  nb::test::KubepodsTree tree;
  auto cg = tree.add_container(uid, cid);
  nb::test::FixedPodLookup pods;
  pods.add(uid, {"ns", "disk", {{cid, "dd"}}});

  // Where the kernel charges block I/O: the v2 container cgroup when the io controller lives on
  // v2, else a v1 blkio cgroup we make for the purpose.
  const bool io_on_v2 = v2_has_io_controller(nodepack::cgroup::find_cgroup2_root(nodepack::HostPaths{}).value());
  fs::path blkio_v1;
  if (!io_on_v2) {
    const fs::path base = nodepack::HostPaths{}.cgroup / "blkio";
    if (!fs::exists(base / "cgroup.procs")) {
      nb::test::skip_or_fail("io controller on neither cgroup v2 nor a v1 blkio hierarchy");
      return;
    }
    blkio_v1 = base / ("nodepack-test-" + std::to_string(::getpid()));
    fs::create_directories(blkio_v1);
  }
  struct RemoveDir {
    fs::path p;
    ~RemoveDir() {
      if (!p.empty()) {
        ::rmdir(p.c_str());
      }
    }
  } cleanup{blkio_v1};

  // A file on a block device: O_DIRECT is refused on tmpfs.
  const char* tmpdir = std::getenv("TMPDIR");
  fs::path file = fs::path(tmpdir != nullptr ? tmpdir : "/var/tmp") / ("nodepack-blkio-" + std::to_string(::getpid()));
  {
    int probe = ::open(file.c_str(), O_CREAT | O_RDWR | O_DIRECT | O_CLOEXEC, 0600);
    if (probe < 0) {
      nb::test::skip_or_fail("cannot open a file with O_DIRECT under " + file.parent_path().string());
      return;
    }
    ::close(probe);
  }
  struct RemoveFile {
    fs::path p;
    ~RemoveFile() { fs::remove(p); }
  } cleanup_file{file};

  auto reg = nb::test::registry_for({"blkio"}, tree.root(), pods, std::make_unique<nb::KernelFeatureProbe>());
  reg->start();
  REQUIRE(reg->status()["blkio"]);
  auto* blkio = dynamic_cast<nb::CgroupMapCollector<blkio_cg_stats>*>(reg->find("blkio"));
  REQUIRE(blkio != nullptr);

  constexpr int kBlocks = 64;
  int pid = nb::test::spawn_in_cgroup(cg, [&] {
    if (!blkio_v1.empty()) {
      std::ofstream(blkio_v1 / "cgroup.procs") << "0" << std::flush;
    }
    int fd = ::open(file.c_str(), O_RDWR | O_DIRECT | O_DSYNC | O_CLOEXEC);
    void* buf = nullptr;
    if (fd < 0 || ::posix_memalign(&buf, 4096, 4096) != 0 || ::fallocate(fd, 0, 0, 4096 * kBlocks) != 0) {
      ::_exit(30);
    }
    std::memset(buf, 0x42, 4096);
    ::fsync(fd);
    for (int i = 0; i < kBlocks; ++i) {
      if (::pwrite(fd, buf, 4096, static_cast<off_t>(i) * 4096) != 4096) {
        ::_exit(31);
      }
    }
    for (int i = 0; i < kBlocks; ++i) {
      if (::pread(fd, buf, 4096, static_cast<off_t>(i) * 4096) != 4096) {
        ::_exit(32);
      }
    }
    ::_exit(0);
  });
  nb::test::wait_all({pid});

  // On a hybrid host the blkcg is the v1 cgroup; the program falls back to the submitting
  // task's v2 cgroup, so the container's cgroup is charged either way.
  const std::uint64_t charged_to = nodepack::testing::inode_of(cg);
  nb::CgroupMapCollector<blkio_cg_stats>::Value ours;
  for (const auto& [id, v] : blkio->read_cgroups()) {
    if (id == charged_to) {
      ours = v;
    }
  }
  INFO("requests charged: " << ours.latency.count << ", total ms " << ours.latency.sum_ns / 1e6);
  CHECK(ours.latency.count >= kBlocks * 2);      // every direct read and write is a request
  CHECK(ours.latency.count <= kBlocks * 2 * 4);  // (the journal's writes are charged elsewhere)
  CHECK(ours.latency.sum_ns > 0);

  auto families = reg->Collect();
  auto* lat = find_metric(families, "kpod_disk_io_latency_seconds", {{"pod", "disk"}, {"container", "dd"}});
  REQUIRE(lat != nullptr);
  CHECK(lat->histogram.sample_count >= kBlocks * 2);
  if (!io_on_v2) {
    // Left on the v1 blkio cgroup: requests no user task inserted or issued (the file's
    // metadata written back by a kernel thread, dispatch deferred to kblockd). Few here.
    std::uint64_t left = 0;
    for (const auto& [id, v] : blkio->read_cgroups()) {
      if (id == nodepack::testing::inode_of(blkio_v1)) {
        left = v.latency.count;
      }
    }
    WARN("left on the v1 blkio cgroup: " << left << " of " << left + ours.latency.count);
    CHECK(left <= ours.latency.count / 4);
  }
}

TEST_CASE("blkio: the raw_tp programs load where tp_btf is not available", "[bpf][blkio]") {
  NODEPACK_REQUIRE_BPF_OR_SKIP();
  nb::test::KubepodsTree tree;
  nb::test::FixedPodLookup pods;
  auto probe = std::make_unique<nb::FixedFeatureProbe>(
      std::map<std::string, bool, std::less<>>{{"tp_btf:block_rq_issue", false}}, true);
  auto reg = nb::test::registry_for({"blkio"}, tree.root(), pods, std::move(probe));
  reg->start();
  CHECK(reg->status()["blkio"]);
}
