#include "numa/topology.hpp"

#include "tests/support/fixtures.hpp"
#include "tests/support/hwloc_fixture.hpp"

#include <catch2/catch.hpp>

#include <cmath>

using namespace nodepack::numa;
using namespace nodepack::numa::test;
using namespace nodepack::testing;
using nodepack::HostPaths;

namespace {

Topology load_fixture(const std::filesystem::path& root) {
  auto topo = load_topology(HostPaths::under(root));
  if (!topo) {
    FAIL(topo.error().message);
  }
  return std::move(*topo);
}

void compare(const Topology& topo, const Expected& expected) {
  for (const auto& e : expected.nodes) {
    INFO("NUMA node " << e.id);
    const NumaNode* n = topo.find(e.id);
    REQUIRE(n != nullptr);
    CHECK(n->cpus == e.cpus);
    if (e.memory_exact) {
      CHECK(n->memory_bytes == *e.memory_exact);
    }
    if (e.memory_printed) {
      const auto [value, unit] = *e.memory_printed;
      const double ours = static_cast<double>(n->memory_bytes) / static_cast<double>(unit);
      INFO("ours " << ours << " expected " << value);
      CHECK(std::fabs(ours - static_cast<double>(value)) <= 1.0);
    }
  }
}

}  // namespace

TEST_CASE("hwloc fixtures with .console expectations") {
  struct Case {
    const char* name;
    std::size_t nodes;
    std::size_t cpus;
  };
  for (const Case c :
       {Case{"16amd64-8n2c", 8, 16}, Case{"16em64t-4s2c2t", 1, 16}, Case{"20em64t-hybrid-1p6c2t+2ca4co1t", 1, 20},
        Case{"48amd64-4pa2n6c-sparse", 8, 48}, Case{"offline-cpu0-node0", 1, 17}}) {
    SECTION(c.name) {
      TempDir tmp;
      const auto root = unpack_hwloc_fixture(c.name, tmp);
      const Topology topo = load_fixture(root);
      const Expected expected = read_console(fixtures() / "hwloc" / (std::string(c.name) + ".console"));
      REQUIRE(expected.nodes.size() == c.nodes);
      CHECK(topo.nodes.size() == c.nodes);
      CHECK(topo.online_cpus.size() == c.cpus);
      compare(topo, expected);
    }
  }
}

TEST_CASE("16amd64-8n2c: two cores per node, one CPU per core") {
  TempDir tmp;
  const Topology topo = load_fixture(unpack_hwloc_fixture("16amd64-8n2c", tmp));
  REQUIRE(topo.nodes.size() == 8);
  for (const auto& n : topo.nodes) {
    INFO("node " << n.id);
    CHECK(n.cpus == CpuSet{static_cast<int>(2 * n.id), static_cast<int>(2 * n.id + 1)});
    REQUIRE(n.cores.size() == 2);
    CHECK(n.cores[0].cpus.size() == 1);
    CHECK(n.cores[0].package == static_cast<int>(n.id));
    CHECK(n.offline_cpus.empty());
  }
  CHECK(topo.offline_cpus.empty());
  CHECK(topo.cpus_without_node.empty());
}

TEST_CASE("16em64t-4s2c2t: hyperthread pairs are one core") {
  TempDir tmp;
  const Topology topo = load_fixture(unpack_hwloc_fixture("16em64t-4s2c2t", tmp));
  REQUIRE(topo.nodes.size() == 1);
  const auto& n = topo.nodes[0];
  CHECK(n.cpus.to_string() == "0-15");
  REQUIRE(n.cores.size() == 8);
  for (const auto& core : n.cores) {
    CHECK(core.cpus.size() == 2);
  }
  CHECK(n.cores[0].cpus == CpuSet{0, 8});
}

TEST_CASE("48amd64-4pa2n6c-sparse: sparse node ids are the kernel's") {
  TempDir tmp;
  const Topology topo = load_fixture(unpack_hwloc_fixture("48amd64-4pa2n6c-sparse", tmp));
  std::vector<unsigned> ids;
  for (const auto& n : topo.nodes) {
    ids.push_back(n.id);
    CHECK(n.cpus.size() == 6);
    CHECK(n.cores.size() == 6);
    REQUIRE(n.hugepages.size() == 1);
    CHECK(n.hugepages[0] == Hugepages{2u << 20, 0, 0});
  }
  CHECK(ids == std::vector<unsigned>{0, 1, 2, 33, 34, 45, 72, 73});
  CHECK(topo.find(33)->cpus.to_string() == "18-23");
  CHECK(topo.find(73)->cpus.to_string() == "42-47");
}

TEST_CASE("offline-cpu0-node0: offline CPUs are not capacity, and are reported") {
  TempDir tmp;
  const Topology topo = load_fixture(unpack_hwloc_fixture("offline-cpu0-node0", tmp));
  REQUIRE(topo.nodes.size() == 1);
  const auto& n = topo.nodes[0];
  CHECK(n.id == 1);
  CHECK(n.cpus.to_string() == "5,7,9,11,13,15,17,19");
  CHECK(n.offline_cpus.to_string() == "1,3,21,23");
  CHECK(n.cores.size() == 8);
  CHECK(topo.online_cpus.to_string() == "4-20");
  CHECK(topo.offline_cpus.to_string() == "0-3,21-23");
  // Package 0's CPUs belong to node 0, which is not there.
  CHECK(topo.cpus_without_node.to_string() == "4,6,8,10,12,14,16,18,20");
  CHECK(n.memory_bytes == 64ull << 30);
  REQUIRE(n.hugepages.size() == 2);
  CHECK(n.hugepages[0].page_size_bytes == 2u << 20);
  CHECK(n.hugepages[1].page_size_bytes == 1u << 30);
}

TEST_CASE("32amd64-4s2n4c-cgroup2: capacity is the machine's, not the cgroup's") {
  TempDir tmp;
  const Topology topo = load_fixture(unpack_hwloc_fixture("32amd64-4s2n4c-cgroup2", tmp));
  const Expected expected = read_xml(fixtures() / "hwloc" / "32amd64-4s2n4c-cgroup2.xml");
  // hwloc's expected output was made without disallowed resources: 6 of the 8 nodes.
  REQUIRE(expected.complete_node_count == 8u);
  CHECK(expected.nodes.size() == 6);
  CHECK(topo.nodes.size() == 8);
  compare(topo, expected);
  CHECK(topo.find(6)->cpus.to_string() == "24-27");
  CHECK(topo.find(7)->cpus.to_string() == "28-31");
  CHECK(topo.online_cpus.to_string() == "0-31");
  // Only CPUs 0-5 are in the fixture's cgroup: the rest are capacity we may not run on.
  CHECK(topo.disallowed_cpus.to_string() == "6-31");
}

TEST_CASE("2i386-2t-hugepagesizecount: no NUMA in sysfs, one node with the global hugepage pools") {
  TempDir tmp;
  const Topology topo = load_fixture(unpack_hwloc_fixture("2i386-2t-hugepagesizecount", tmp));
  const Expected expected = read_xml(fixtures() / "hwloc" / "2i386-2t-hugepagesizecount.xml");
  REQUIRE(expected.nodes.size() == 1);
  CHECK(topo.nodes.size() == 1);
  compare(topo, expected);
  const auto& n = topo.nodes[0];
  CHECK(n.cpus == CpuSet{0, 1});
  REQUIRE(n.cores.size() == 1);
  REQUIRE(n.hugepages.size() == 2);
  CHECK(n.hugepages[0] == Hugepages{2u << 20, 1, 0});
  CHECK(n.hugepages[1] == Hugepages{16ull << 30, 1, 0});
  CHECK(hugepage_resource_name(n.hugepages[1].page_size_bytes) == "hugepages-16Gi");
}

TEST_CASE("memory-only NUMA node and per-node hugepages from an edited tree") {
  TempDir tmp;
  const auto root = unpack_hwloc_fixture("16amd64-8n2c", tmp);
  const auto nodes = root / "sys/devices/system/node";
  write_file(nodes / "node8/cpulist", "\n");
  write_file(nodes / "node8/cpumap", "00000000\n");
  write_file(nodes / "node8/meminfo", "Node 8 MemTotal:      4194304 kB\nNode 8 MemFree:       4194304 kB\n");
  write_file(nodes / "online", "0-8\n");
  write_file(nodes / "possible", "0-8\n");
  write_file(nodes / "node0/hugepages/hugepages-2048kB/nr_hugepages", "512\n");
  write_file(nodes / "node0/hugepages/hugepages-2048kB/free_hugepages", "100\n");
  const Topology topo = load_fixture(root);
  REQUIRE(topo.nodes.size() == 9);
  const NumaNode* mem_only = topo.find(8);
  REQUIRE(mem_only != nullptr);
  CHECK(mem_only->cpus.empty());
  CHECK(mem_only->cores.empty());
  CHECK(mem_only->memory_bytes == 4ull << 30);
  const NumaNode* n0 = topo.find(0);
  REQUIRE(n0->hugepages.size() == 1);
  CHECK(n0->hugepages[0] == Hugepages{2u << 20, 512, 100});
}

TEST_CASE("a host root that is not there is an error, not a crash") {
  auto topo = load_topology(HostPaths::under("/nonexistent/nodepack-root"));
  CHECK_FALSE(topo.has_value());
}

TEST_CASE("hugepage resource names follow the kubelet") {
  CHECK(hugepage_resource_name(2u << 20) == "hugepages-2Mi");
  CHECK(hugepage_resource_name(1u << 30) == "hugepages-1Gi");
  CHECK(hugepage_resource_name(64u << 10) == "hugepages-64Ki");
}

// An arm64 server (HiSilicon Kunpeng 920: two packages of two NUMA nodes, 32 cores each in
// clusters of four, one thread per core; arm64's four hugepage sizes). The same values are
// asserted on every build, so the x86-64 tree and the arm64 tree under emulation agree.
TEST_CASE("128arm-2pa2n8cluster4co: an arm64 server, clusters, four hugepage sizes") {
  TempDir tmp;
  const Topology topo = load_fixture(unpack_hwloc_fixture("128arm-2pa2n8cluster4co", tmp));
  // hwloc 2.9.0's own output for this dump (KB, exact), as nodepack links hwloc 2.9.
  const Expected expected = read_console(fixtures() / "hwloc" / "128arm-2pa2n8cluster4co.output");
  REQUIRE(expected.nodes.size() == 4);
  REQUIRE(topo.nodes.size() == 4);
  compare(topo, expected);
  CHECK(topo.online_cpus.to_string() == "0-127");
  CHECK(topo.offline_cpus.empty());
  CHECK(topo.cpus_without_node.empty());
  const std::vector<std::uint64_t> memory_kib = {131732940, 132117940, 132117936, 131062408};
  const std::vector<int> packages = {36, 36, 8442, 8442};
  for (const auto& n : topo.nodes) {
    INFO("node " << n.id);
    REQUIRE(n.id < 4);
    CHECK(n.cpus.to_string() == std::to_string(32 * n.id) + "-" + std::to_string(32 * n.id + 31));
    CHECK(n.memory_bytes == memory_kib[n.id] << 10);
    REQUIRE(n.cores.size() == 32);
    for (const auto& core : n.cores) {
      CHECK(core.cpus.size() == 1);
      CHECK(core.package == packages[n.id]);
    }
    REQUIRE(n.hugepages.size() == 4);
    std::vector<std::string> names;
    for (const auto& h : n.hugepages) {
      CHECK(h.total_pages == 0);
      names.push_back(hugepage_resource_name(h.page_size_bytes));
    }
    CHECK(names == std::vector<std::string>{"hugepages-64Ki", "hugepages-2Mi", "hugepages-32Mi", "hugepages-1Gi"});
  }
}
