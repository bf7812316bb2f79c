// The invariants of the kubelet's NUMA view, on every machine dump the tests have: hwloc's own
// (tests/fixtures/hwloc) and the two shapes made for nodepack (tests/fixtures/numa-shapes).

#include "numa/invariants.hpp"
#include "numa/topology.hpp"

#include "common/strings.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/hwloc_fixture.hpp"

#include <catch2/catch.hpp>

using namespace nodepack::numa;
using namespace nodepack::numa::test;
using nodepack::HostPaths;

namespace {

struct Dump {
  std::string dir;  // "hwloc" or "numa-shapes"
  std::string name;
  bool has_meminfo;  // /proc/meminfo is in the dump: the memory sum can be checked
  // Where the dump's own files disagree: the node meminfo totals and /proc/meminfo's, as read.
  std::optional<std::pair<std::uint64_t, std::uint64_t>> memory_disagrees;
};

const std::vector<Dump>& every_dump() {
  static const std::vector<Dump> dumps = {
      {"hwloc", "16amd64-8n2c", false, std::nullopt},
      {"hwloc", "16em64t-4s2c2t", false, std::nullopt},
      // Four 4 KiB pages apart: the node files and /proc/meminfo were read at different moments.
      {"hwloc", "20em64t-hybrid-1p6c2t+2ca4co1t", true, std::pair{33269227520ull, 33269243904ull}},
      {"hwloc", "2i386-2t-hugepagesizecount", true, std::nullopt},
      // Kernels of that age counted a node's present pages in its MemTotal and the machine's
      // managed pages (present minus what boot reserved) in /proc/meminfo: 1.4 % apart.
      {"hwloc", "32amd64-4s2n4c-cgroup2", true, std::pair{137436770304ull, 135470768128ull}},
      {"hwloc", "48amd64-4pa2n6c-sparse", true, std::pair{103077015552ull, 101583552512ull}},
      {"numa-shapes", "tiered-hbm-cxl", true, std::nullopt},
      {"numa-shapes", "gb200-like", true, std::nullopt},
  };
  return dumps;
}

}  // namespace

TEST_CASE("every CPU on one node, CPUs and memory adding up, on every fixture") {
  for (const auto& d : every_dump()) {
    SECTION(d.name) {
      TempDir tmp;
      const auto root = unpack_tree(nodepack::testing::fixtures() / d.dir / (d.name + ".tar.bz2"), tmp);
      auto topo = load_topology(HostPaths::under(root));
      REQUIRE(topo.has_value());
      const auto report = check_invariants(*topo);
      INFO(nodepack::join(report.violations, "; "));
      CHECK(report.cpus_on_one_node);
      CHECK(report.cpu_sum_matches);
      std::size_t cpus = 0;
      std::uint64_t memory = 0;
      for (const auto& n : topo->nodes) {
        cpus += n.cpus.size();
        memory += n.memory_bytes;
      }
      CHECK(cpus == topo->online_cpus.size());
      CHECK(topo->cpus_without_node.empty());
      REQUIRE(topo->memory_total_bytes.has_value() == d.has_meminfo);
      if (!d.has_meminfo) {
        CHECK_FALSE(report.memory_sum_matches.has_value());
        CHECK(report.holds());
      } else if (!d.memory_disagrees) {
        CHECK(report.memory_sum_matches == true);
        CHECK(memory == *topo->memory_total_bytes);
        CHECK(report.holds());
      } else {
        // Every node's memory is counted once (the sum is the nodes' files, read as they are); the
        // checker reports the dump's disagreement with /proc/meminfo instead of hiding it.
        CHECK(memory == d.memory_disagrees->first);
        CHECK(*topo->memory_total_bytes == d.memory_disagrees->second);
        CHECK(report.memory_sum_matches == false);
        CHECK(report.violations ==
              std::vector<std::string>{"per-node memory adds up to " + std::to_string(d.memory_disagrees->first) +
                                       " bytes, MemTotal is " + std::to_string(d.memory_disagrees->second)});
      }
    }
  }
}

TEST_CASE("offline-cpu0-node0 lacks node0 in sysfs: the checker names what breaks") {
  TempDir tmp;
  auto topo = load_topology(HostPaths::under(unpack_hwloc_fixture("offline-cpu0-node0", tmp)));
  REQUIRE(topo.has_value());
  const auto report = check_invariants(*topo);
  CHECK_FALSE(report.cpus_on_one_node);
  CHECK_FALSE(report.cpu_sum_matches);
  CHECK(report.memory_sum_matches == false);
  CHECK(report.violations == std::vector<std::string>{
                                 "online CPUs 4,6,8,10,12,14,16,18,20 are on no NUMA node",
                                 "per-node CPUs add up to 8, the machine has 17 online",
                                 "per-node memory adds up to 68719476736 bytes, MemTotal is 134898769920",
                             });
}

TEST_CASE("hwloc's model of a CPU-less node breaks the invariants the kernel's keeps") {
  // What the hwloc-only model reported for tiered-hbm-cxl: the HBM node with socket 0's CPUs.
  Topology t;
  t.online_cpus = CpuSet::parse("0-63").value();
  t.memory_total_bytes = 3 * 1024;
  NumaNode n0;
  n0.id = 0;
  n0.cpus = CpuSet::parse("0-15,32-47").value();
  n0.memory_bytes = 1024;
  NumaNode n1 = n0;
  n1.id = 1;
  n1.cpus = CpuSet::parse("16-31,48-63").value();
  NumaNode hbm = n0;
  hbm.id = 2;
  t.nodes = {n0, n1, hbm};
  const auto report = check_invariants(t);
  CHECK_FALSE(report.cpus_on_one_node);
  CHECK_FALSE(report.cpu_sum_matches);
  CHECK(report.memory_sum_matches == true);
  CHECK(report.violations == std::vector<std::string>{
                                 "CPUs 0-15,32-47 are on node2 and on another node",
                                 "per-node CPUs add up to 96, the machine has 64 online",
                             });
  t.nodes[2].cpus = CpuSet();
  t.nodes[2].memory_bytes = 2048;
  const auto fixed = check_invariants(t);
  CHECK(fixed.cpus_on_one_node);
  CHECK(fixed.memory_sum_matches == false);
}
