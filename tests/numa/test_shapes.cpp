// The two machine shapes the hwloc-only model got wrong (tests/fixtures/numa-shapes), checked
// against the numbers their README derives by hand from the files.

#include "numa/invariants.hpp"
#include "numa/topology.hpp"

#include "tests/support/hwloc_fixture.hpp"

#include <catch2/catch.hpp>

using namespace nodepack::numa;
using namespace nodepack::numa::test;
using nodepack::HostPaths;

namespace {

Topology load(const std::filesystem::path& root) {
  auto topo = load_topology(HostPaths::under(root));
  if (!topo) {
    FAIL(topo.error().message);
  }
  return std::move(*topo);
}

constexpr std::uint64_t GiB = 1ull << 30;

int distance(const NumaNode& from, unsigned to) {
  for (const auto& [id, d] : from.distances) {
    if (id == to) {
      return d;
    }
  }
  return -1;
}

std::vector<std::string> bus_ids(const std::vector<PciDevice>& devices) {
  std::vector<std::string> out;
  for (const auto& d : devices) {
    out.push_back(d.bus_id);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("tiered-hbm-cxl: CPU-less HBM and CXL nodes have no CPUs, and their own kind") {
  TempDir tmp;
  const Topology topo = load(unpack_shape_fixture("tiered-hbm-cxl", tmp));
  CHECK(topo.hwloc_error.empty());
  REQUIRE(topo.nodes.size() == 5);
  CHECK(topo.online_cpus.to_string() == "0-63");

  const auto& n0 = *topo.find(0);
  CHECK(n0.cpus.to_string() == "0-15,32-47");
  CHECK(n0.cores.size() == 16);
  CHECK(n0.cores[0].cpus == CpuSet{0, 32});
  CHECK(n0.memory_bytes == 134217728000ull);  // 131072000 kB
  CHECK(n0.memory_kind == MemoryKind::dram);
  CHECK(topo.find(1)->cpus.to_string() == "16-31,48-63");
  CHECK(topo.find(1)->memory_kind == MemoryKind::dram);

  for (unsigned id : {2u, 3u, 4u}) {
    INFO("node" << id);
    const auto& n = *topo.find(id);
    CHECK(n.cpus.empty());  // hwloc alone gives them their package's 32 CPUs
    CHECK(n.cores.empty());
    CHECK_FALSE(n.has_cpus());
  }
  CHECK(topo.find(2)->memory_bytes == 64 * GiB);
  CHECK(topo.find(2)->memory_kind == MemoryKind::hbm);  // HMAT: 560000 MB/s against DRAM's 140000
  CHECK(topo.find(3)->memory_kind == MemoryKind::hbm);
  CHECK(topo.find(4)->memory_bytes == 128 * GiB);
  CHECK(topo.find(4)->memory_kind == MemoryKind::cxl);  // dax0.0 of CXL region0, kmem
  CHECK(topo.find(4)->hwloc_subtype == "SPM");          // what hwloc alone says of it

  CHECK(distance(n0, 0) == 10);
  CHECK(distance(n0, 1) == 21);
  CHECK(distance(n0, 2) == 13);
  CHECK(distance(n0, 4) == 20);
  CHECK(distance(*topo.find(3), 4) == 36);

  REQUIRE(n0.hugepages.size() == 2);
  CHECK(n0.hugepages[0] == Hugepages{2u << 20, 1024, 1000});
  CHECK(n0.hugepages[1] == Hugepages{1u << 30, 4, 4});

  CHECK(bus_ids(n0.pci_devices) == std::vector<std::string>{"0000:31:00.0", "0000:65:00.0"});
  CHECK(bus_ids(topo.find(1)->pci_devices) == std::vector<std::string>{"0000:b1:00.0"});
  CHECK(topo.find(2)->pci_devices.empty());

  CHECK(topo.memory_total_bytes == 543313362944ull);  // 530579456 kB
  CHECK(check_invariants(topo).holds());
}

TEST_CASE("gb200-like: 34 nodes, 2 with CPUs, GPU memory nodes kept and named") {
  TempDir tmp;
  const Topology topo = load(unpack_shape_fixture("gb200-like", tmp));
  CHECK(topo.hwloc_error.empty());
  REQUIRE(topo.nodes.size() == 34);
  CHECK(topo.online_cpus.to_string() == "0-143");
  std::vector<unsigned> with_cpus;
  std::vector<unsigned> gpu;
  std::size_t empty = 0;
  for (const auto& n : topo.nodes) {
    if (n.has_cpus()) {
      with_cpus.push_back(n.id);
    }
    if (n.memory_kind == MemoryKind::gpu) {
      gpu.push_back(n.id);
    }
    if (n.memory_kind == MemoryKind::none) {
      ++empty;
      CHECK(n.memory_bytes == 0);
    }
  }
  CHECK(with_cpus == std::vector<unsigned>{0, 1});
  CHECK(gpu == std::vector<unsigned>{2, 10, 18, 26});  // hidden by hwloc's defaults
  CHECK(empty == 28);

  const auto& n0 = *topo.find(0);
  CHECK(n0.cpus.to_string() == "0-71");
  CHECK(n0.cores.size() == 72);
  CHECK(n0.memory_bytes == 480 * GiB);
  CHECK(topo.find(1)->cpus.to_string() == "72-143");
  CHECK(topo.find(2)->memory_bytes == 186 * GiB);
  CHECK(topo.find(2)->cpus.empty());
  CHECK(topo.find(2)->hwloc_subtype == "GPUMemory");
  CHECK(topo.find(3)->cpus.empty());

  CHECK(distance(n0, 1) == 40);
  CHECK(distance(n0, 2) == 80);
  CHECK(distance(n0, 18) == 120);
  CHECK(distance(*topo.find(26), 1) == 80);
  CHECK(distance(*topo.find(2), 10) == 120);

  REQUIRE(n0.hugepages.size() == 2);
  CHECK(n0.hugepages[1] == Hugepages{512u << 20, 16, 12});

  CHECK(bus_ids(n0.pci_devices) ==
        std::vector<std::string>{"0000:01:00.0", "0002:01:00.0", "0008:06:00.0", "0009:06:00.0"});
  CHECK(bus_ids(topo.find(1)->pci_devices) ==
        std::vector<std::string>{"0010:01:00.0", "0012:01:00.0", "0018:06:00.0", "0019:06:00.0"});
  CHECK(pci_class_name(n0.pci_devices[2].class_id) == "display");

  CHECK(topo.memory_total_bytes == 1829656068096ull);  // 1786773504 kB
  CHECK(check_invariants(topo).holds());
}

TEST_CASE("without hwloc the kernel's view stands, and says why cores are missing") {
  TempDir tmp;
  const auto root = unpack_shape_fixture("tiered-hbm-cxl", tmp);
  auto kernel = read_kernel_nodes(HostPaths::under(root));
  REQUIRE(kernel.has_value());
  const nodepack::Result<HwlocFacts> no_hwloc = nodepack::fail("hwloc could not discover a topology");
  const Topology topo = join_topology(*kernel, no_hwloc, HostPaths::under(root));
  REQUIRE(topo.nodes.size() == 5);
  CHECK(topo.hwloc_error == "hwloc could not discover a topology");
  CHECK(topo.find(0)->cpus.size() == 32);
  CHECK(topo.find(0)->cores.empty());
  CHECK(topo.find(2)->memory_kind == MemoryKind::hbm);  // HMAT is the kernel's
  CHECK(topo.find(4)->memory_kind == MemoryKind::cxl);
  CHECK(topo.find(0)->pci_devices.empty());
  CHECK(check_invariants(topo).holds());
}
