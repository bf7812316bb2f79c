#include "numa/checkpoint.hpp"
#include "numa/go_checksum.hpp"

#include "tests/support/fixtures.hpp"

#include <catch2/catch.hpp>

using namespace nodepack::numa;
using nodepack::testing::kubelet_fixture;

namespace {

std::string reason_of(const CheckpointFailure& e) { return std::string(to_string(e.reason)); }

}  // namespace

TEST_CASE("fnv-32a matches the reference vectors") {
  CHECK(go::fnv1a32("") == 2166136261u);
  CHECK(go::fnv1a32("a") == 0xe40c292cu);
  CHECK(go::fnv1a32("foobar") == 0xbf9cf968u);
}

TEST_CASE("cpu_manager_state: pre-1.18 layout keyed by container id") {
  auto st = parse_cpu_manager_state(kubelet_fixture("cpu_manager_state.k8s-unittest.v1.json"));
  REQUIRE(st.has_value());
  CHECK(st->layout == "v1");
  CHECK(st->policy_name == "static");
  CHECK(st->default_cpu_set.to_string() == "7-9");
  CHECK(st->entries.empty());
  REQUIRE(st->container_id_entries.size() == 2);
  CHECK(st->container_id_entries.at("containerID1").to_string() == "4-6");
  CHECK(st->container_id_entries.at("containerID2").to_string() == "1-3");
  CHECK(st->checksum.status == ChecksumStatus::verified);
  CHECK(st->checksum.stored == 2026311253u);
}

TEST_CASE("cpu_manager_state: none policy, pre-1.18 and v2 checksums differ and both verify") {
  auto v1 = parse_cpu_manager_state(kubelet_fixture("cpu_manager_state.none.v1-pre-1.18.json"));
  REQUIRE(v1.has_value());
  CHECK(v1->policy_name == "none");
  CHECK(v1->default_cpu_set.empty());
  CHECK(v1->checksum.status == ChecksumStatus::verified);
  CHECK(v1->checksum.layout == "v1");
  CHECK(v1->layout == "v1");

  auto v2 = parse_cpu_manager_state(kubelet_fixture("cpu_manager_state.none.v2.json"));
  REQUIRE(v2.has_value());
  CHECK(v2->policy_name == "none");
  CHECK(v2->checksum.status == ChecksumStatus::verified);
  CHECK(v2->checksum.layout == "v2");
  CHECK(v2->layout == "v2");
}

TEST_CASE("cpu_manager_state: v2 with a hyperthread pair") {
  auto st = parse_cpu_manager_state(kubelet_fixture("cpu_manager_state.static.24cpu-ht-pair.v2.json"));
  REQUIRE(st.has_value());
  CHECK(st->layout == "v2");
  CHECK(st->policy_name == "static");
  CHECK(st->default_cpu_set.to_string() == "0,2-12,14-23");
  CHECK(st->default_cpu_set.size() == 22);
  REQUIRE(st->entries.size() == 1);
  CHECK(st->entries.at("235148fe-393f-47a8-a17d-bd55bc1a836b").at("cgroup1-0") == CpuSet{1, 13});
  CHECK(st->checksum.status == ChecksumStatus::verified);
  CHECK(st->checksum.stored == 1552716370u);
}

TEST_CASE("cpu_manager_state: v3 with podEntries") {
  auto st = parse_cpu_manager_state(kubelet_fixture("cpu_manager_state.k8s-unittest.v3-podentries.json"));
  REQUIRE(st.has_value());
  CHECK(st->layout == "v3");
  CHECK(st->checksum.status == ChecksumStatus::verified);
  CHECK(st->checksum.layout == "v3");
  CHECK(st->default_cpu_set.to_string() == "1-2");
  CHECK(st->entries.at("pod1").at("container1").to_string() == "5-6");
  CHECK(st->entries.at("pod1").at("container2").to_string() == "3-4");
  REQUIRE(st->pod_entries.size() == 1);
  CHECK(st->pod_entries.at("pod2").to_string() == "7-9");
}

TEST_CASE("cpu_manager_state: v3 hashed under the CPUManagerCheckpointV3 name") {
  auto st = parse_cpu_manager_state(kubelet_fixture("cpu_manager_state.k8s-unittest.v3name-emptypodentries.json"));
  REQUIRE(st.has_value());
  CHECK(st->checksum.status == ChecksumStatus::verified);
  CHECK(st->checksum.layout == "v3-named");
  CHECK(st->layout == "v3");
  CHECK(st->default_cpu_set.to_string() == "7-9");
  CHECK(st->entries.at("pod").at("container1").to_string() == "4-6");
  CHECK(st->entries.at("pod").at("container2").to_string() == "1-3");
  CHECK(st->pod_entries.empty());
}

TEST_CASE("cpu_manager_state: data envelope, dataChecksum holds and the legacy fields are ignored") {
  auto st = parse_cpu_manager_state(kubelet_fixture("cpu_manager_state.k8s-unittest.v4-data.json"));
  REQUIRE(st.has_value());
  CHECK(st->layout == "v4-data");
  CHECK(st->checksum.status == ChecksumStatus::verified);
  CHECK(st->checksum.stored == 1420829534u);
  CHECK(st->policy_name == "static");  // from data, not the outer "other"
  CHECK(st->default_cpu_set.to_string() == "7-9");
  CHECK(st->entries.at("pod").at("container1").to_string() == "4-6");
}

TEST_CASE("cpu_manager_state: data envelope with the checksum in \"checksum\"") {
  auto st =
      parse_cpu_manager_state(R"({"data":"{\"policyName\":\"none\",\"defaultCPUSet\":\"4-6\"}","checksum":657950972})");
  REQUIRE(st.has_value());
  CHECK(st->checksum.status == ChecksumStatus::verified);
  CHECK(st->default_cpu_set.to_string() == "4-6");
}

// The parser reports a mismatch and still returns the content (for /debug/numa and the fuzzers);
// CheckpointFile is what refuses it (test_checkpoint_file.cpp). This case was called "a wrong
// checksum is used and flagged" when the agent used such content.
TEST_CASE("cpu_manager_state: a wrong checksum is reported with what each layout computes") {
  auto st = parse_cpu_manager_state(
      R"({"policyName":"static","defaultCpuSet":"0,2-12,14-23","entries":{"235148fe-393f-47a8-a17d-bd55bc1a836b":{"cgroup1-0":"1,13"}},"checksum":1552716371})");
  REQUIRE(st.has_value());
  CHECK(st->checksum.status == ChecksumStatus::mismatch);
  CHECK(st->checksum.tried == std::vector<std::string>{"v2", "v3", "v3-named"});
  CHECK(st->entries.size() == 1);
  // The fixture's content with the checksum one off: v2 computes the fixture's own.
  REQUIRE(st->checksum.computed.size() == 3);
  CHECK(st->checksum.computed[0] == 1552716370u);
}

TEST_CASE("cpu_manager_state: checksum 0 is accepted as absent, as the kubelet does") {
  auto st = parse_cpu_manager_state(R"({"policyName":"none","defaultCpuSet":"","checksum":0})");
  REQUIRE(st.has_value());
  CHECK(st->checksum.status == ChecksumStatus::absent);
}

// The kubelet's rule per layout (pkg/kubelet/cm/cpumanager/state/checkpoint.go and
// state_checkpoint.go): v1 and v2 accept 0 "for compatibility with old file backend"; v3 verifies
// 0 like any value, fails, and the kubelet falls back to v2, which accepts it without podEntries;
// with "data" the data checksum must match, 0 included, and there is no fallback.
TEST_CASE("cpu_manager_state: zero or absent checksum, layout by layout") {
  SECTION("absent field: the same as 0") {
    auto st = parse_cpu_manager_state(R"({"policyName":"static","defaultCpuSet":"0-3","entries":{"p":{"c":"4"}}})");
    REQUIRE(st.has_value());
    CHECK(st->checksum.status == ChecksumStatus::absent);
    CHECK(st->layout == "v2");
    CHECK(st->entries.at("p").at("c") == CpuSet{4});
  }
  SECTION("pre-1.18 entries keyed by container id: v1 accepts 0") {
    auto st =
        parse_cpu_manager_state(R"({"policyName":"static","defaultCpuSet":"0-3","entries":{"c1":"4"},"checksum":0})");
    REQUIRE(st.has_value());
    CHECK(st->checksum.status == ChecksumStatus::absent);
    CHECK(st->layout == "v1");
    CHECK(st->container_id_entries.at("c1") == CpuSet{4});
  }
  SECTION("podEntries: read as v2, as the kubelet falls back to it, and the pod entries go") {
    auto st = parse_cpu_manager_state(
        R"({"policyName":"static","defaultCpuSet":"1-2","entries":{"pod1":{"container1":"5-6"}},"podEntries":{"pod2":{"cpuSet":"7-9"}},"checksum":0})");
    REQUIRE(st.has_value());
    CHECK(st->checksum.status == ChecksumStatus::absent);
    CHECK(st->layout == "v2");
    CHECK(st->pod_entries.empty());
    CHECK(st->checksum.note == "1 podEntries ignored: the kubelet reads this file as layout v2, which has none");
    CHECK(st->entries.at("pod1").at("container1").to_string() == "5-6");
  }
  SECTION("data envelope: a zero data checksum is a mismatch") {
    auto st =
        parse_cpu_manager_state(R"({"data":"{\"policyName\":\"none\",\"defaultCPUSet\":\"4-6\"}","dataChecksum":0})");
    REQUIRE(st.has_value());
    CHECK(st->checksum.status == ChecksumStatus::mismatch);
    CHECK(st->checksum.computed == std::vector<std::uint32_t>{657950972u});
    auto absent = parse_cpu_manager_state(R"({"data":"{\"policyName\":\"none\",\"defaultCPUSet\":\"4-6\"}"})");
    REQUIRE(absent.has_value());
    CHECK(absent->checksum.status == ChecksumStatus::mismatch);
  }
}

TEST_CASE("memory_manager_state: zero checksum accepted as v1 (podEntries dropped), refused with data") {
  auto v1 = parse_memory_manager_state(
      R"({"policyName":"static","machineState":{"0":{"numberOfAssignments":1,"memoryMap":{},"cells":[0]}},"entries":{"pod":{"c":[{"numaAffinity":[0],"type":"memory","size":512}]}},"checksum":0})");
  REQUIRE(v1.has_value());
  CHECK(v1->checksum.status == ChecksumStatus::absent);
  CHECK(v1->layout == "v1");
  CHECK(v1->entries.at("pod").at("c").size() == 1);

  // Memory v2 verifies 0 like any value; the kubelet then reads the file as v1, without podEntries.
  auto v2 = parse_memory_manager_state(
      R"({"policyName":"static","machineState":{},"podEntries":{"pod":{"memoryBlocks":[{"numaAffinity":[0],"type":"memory","size":512}]}},"checksum":0})");
  REQUIRE(v2.has_value());
  CHECK(v2->checksum.status == ChecksumStatus::absent);
  CHECK(v2->layout == "v1");
  CHECK(v2->pod_entries.empty());
  CHECK_FALSE(v2->checksum.note.empty());

  auto data = parse_memory_manager_state(R"({"data":"{\"policyName\":\"none\"}","dataChecksum":0})");
  REQUIRE(data.has_value());
  CHECK(data->checksum.status == ChecksumStatus::mismatch);
}

TEST_CASE("cpu_manager_state: CPU ids beyond the machine are invalid_cpuset") {
  const auto fixture = kubelet_fixture("cpu_manager_state.static.24cpu-ht-pair.v2.json");  // CPUs 0-23
  auto on_24 = parse_cpu_manager_state(fixture, 24);
  REQUIRE(on_24.has_value());
  CHECK(on_24->checksum.status == ChecksumStatus::verified);
  auto on_16 = parse_cpu_manager_state(fixture, 16);
  REQUIRE_FALSE(on_16.has_value());
  CHECK(reason_of(on_16.error()) == "invalid_cpuset");
  CHECK(on_16.error().message ==
        "invalid_cpuset: defaultCpuSet: cpu id 23 in \"14-23\" is out of range: this machine has no CPU above 15");
  // Without a machine, the hard cap.
  CHECK(reason_of(parse_cpu_manager_state(R"({"policyName":"static","defaultCpuSet":"0-16384"})").error()) ==
        "invalid_cpuset");
  CHECK(reason_of(parse_cpu_manager_state(R"({"policyName":"static","entries":{"p":{"c":"65535"}}})").error()) ==
        "invalid_cpuset");
}

TEST_CASE("cpu_manager_state: podEntries naming more CPUs than a machine has are refused before hashing") {
  // Each pod entry's CPUs are printed one by one for the checksum; pods' exclusive sets cannot
  // overlap, so together they fit in the machine.
  auto st = parse_cpu_manager_state(
      R"({"policyName":"static","defaultCpuSet":"","entries":{"a":{"c":"1"}},"podEntries":{"p1":{"cpuSet":"0-9000"},"p2":{"cpuSet":"0-9000"}},"checksum":1})");
  REQUIRE_FALSE(st.has_value());
  CHECK(reason_of(st.error()) == "invalid_cpuset");
  auto small = parse_cpu_manager_state(
      R"({"policyName":"static","defaultCpuSet":"","entries":{"a":{"c":"1"}},"podEntries":{"p1":{"cpuSet":"0-7"},"p2":{"cpuSet":"8-15"}},"checksum":1})",
      16);
  REQUIRE(small.has_value());
  CHECK(small->pod_entries.size() == 2);
  CHECK(
      reason_of(
          parse_cpu_manager_state(
              R"({"policyName":"static","defaultCpuSet":"","entries":{"a":{"c":"1"}},"podEntries":{"p1":{"cpuSet":"0-7"},"p2":{"cpuSet":"7-15"}},"checksum":1})",
              16)
              .error()) == "invalid_cpuset");
}

TEST_CASE("cpu_manager_state: broken files name their reason") {
  const auto good = kubelet_fixture("cpu_manager_state.static.24cpu-ht-pair.v2.json");
  CHECK(reason_of(parse_cpu_manager_state(good.substr(0, good.size() / 2)).error()) == "parse_error");  // truncated
  CHECK(reason_of(parse_cpu_manager_state("").error()) == "parse_error");                     // half-written: empty
  CHECK(reason_of(parse_cpu_manager_state(std::string(40, '\0')).error()) == "parse_error");  // zero-filled
  CHECK(reason_of(parse_cpu_manager_state("[1,2]").error()) == "unknown_layout");
  CHECK(reason_of(parse_cpu_manager_state(R"({"version":5,"state":{}})").error()) == "unknown_layout");
  CHECK(reason_of(parse_cpu_manager_state(R"({"policyName":"static","entries":{"a":"1","b":{"c":"2"}}})").error()) ==
        "unknown_layout");
  CHECK(reason_of(parse_cpu_manager_state(R"({"policyName":"static","defaultCpuSet":"1.3"})").error()) ==
        "invalid_cpuset");
  CHECK(reason_of(parse_cpu_manager_state(R"({"policyName":"static","defaultCpuSet":7})").error()) == "unknown_layout");
  CHECK(reason_of(parse_cpu_manager_state(R"({"data":"{nope","dataChecksum":1})").error()) == "parse_error");
}

TEST_CASE("memory_manager_state: v1 unit-test file") {
  auto st = parse_memory_manager_state(kubelet_fixture("memory_manager_state.k8s-unittest.v1.json"));
  REQUIRE(st.has_value());
  CHECK(st->layout == "v1");
  CHECK(st->checksum.status == ChecksumStatus::verified);
  CHECK(st->checksum.stored == 4215593881u);
  CHECK(st->policy_name == "static");
  REQUIRE(st->machine_state.size() == 1);
  const auto& n0 = st->machine_state.at(0);
  CHECK(n0.number_of_assignments == 0);
  CHECK(n0.memory_map.at("memory") == MemoryTable{2048, 512, 1536, 512, 1024});
  CHECK(n0.cells.empty());
  REQUIRE(st->entries.at("pod").at("container1").size() == 1);
  CHECK(st->entries.at("pod").at("container1")[0] == MemoryBlock{{0}, "memory", 512});
}

TEST_CASE("memory_manager_state: data envelope") {
  auto st = parse_memory_manager_state(kubelet_fixture("memory_manager_state.k8s-unittest.v3-data.json"));
  REQUIRE(st.has_value());
  CHECK(st->layout == "v3-data");
  CHECK(st->checksum.status == ChecksumStatus::verified);
  CHECK(st->checksum.stored == 1849615440u);
  CHECK(st->policy_name == "static");
  CHECK(st->machine_state.at(0).memory_map.at("memory") == MemoryTable{2048, 512, 1536, 512, 1024});
  CHECK(st->entries.count("pod") == 1);
  CHECK(st->entries.at("pod").count("container1") == 1);
  CHECK(st->entries.at("pod").count("containerX") == 0);
}

TEST_CASE("memory_manager_state: documentation file with the old nodes key parses, checksum flagged") {
  auto st = parse_memory_manager_state(kubelet_fixture("memory_manager_state.k8s-docs.2numa.pretty.json"));
  REQUIRE(st.has_value());
  CHECK(st->checksum.status == ChecksumStatus::mismatch);
  CHECK(st->checksum.tried.size() == 12);
  CHECK(st->policy_name == "Static");
  REQUIRE(st->machine_state.size() == 2);
  CHECK(st->machine_state.at(0).number_of_assignments == 1);
  CHECK(st->machine_state.at(0).cells == std::vector<int>{0, 1});
  CHECK(st->machine_state.at(0).memory_map.at("memory") ==
        MemoryTable{134987354112ull, 3221225472ull, 131766128640ull, 131766128640ull, 0});
  CHECK(st->machine_state.at(1).memory_map.at("memory") ==
        MemoryTable{135286722560ull, 2252341248ull, 133034381312ull, 29295144960ull, 103739236352ull});
  CHECK(st->machine_state.at(1).memory_map.at("hugepages-1Gi") == MemoryTable{});
  const auto& blocks = st->entries.at("fa9bdd38-6df9-4cf9-aa67-8c4814da37a8").at("guaranteed");
  REQUIRE(blocks.size() == 1);
  CHECK(blocks[0] == MemoryBlock{{0, 1}, "memory", 161061273600ull});
}

TEST_CASE("memory_manager_state: broken files") {
  CHECK(reason_of(parse_memory_manager_state(R"({"policyName":"static","machineState":{"x":{}}})").error()) ==
        "unknown_layout");
  CHECK(reason_of(parse_memory_manager_state(
                      R"({"policyName":"static","machineState":{"0":{"memoryMap":{"memory":{"total":-1}}}}})")
                      .error()) == "unknown_layout");
  CHECK(reason_of(parse_memory_manager_state(R"({"policyName":"static",)").error()) == "parse_error");
}

TEST_CASE("device checkpoint: no NUMA affinity is kept as -1") {
  auto cp = parse_device_checkpoint(kubelet_fixture("kubelet_internal_checkpoint.kind-tegra.numa-minus1.json"));
  REQUIRE(cp.has_value());
  CHECK(cp->layout == "v2");
  CHECK(cp->checksum.status == ChecksumStatus::verified);
  CHECK(cp->checksum.stored == 3660592824u);
  REQUIRE(cp->entries.size() == 1);
  const auto& e = cp->entries[0];
  CHECK(e.pod_uid == "bf52b2cd-b611-4e79-86b1-280b283185c3");
  CHECK(e.container_name == "check");
  CHECK(e.resource_name == "nvidia.com/gpu");
  REQUIRE(e.device_ids.size() == 1);
  CHECK(e.device_ids.at(no_numa_affinity) == std::vector<std::string>{"tegra"});
  CHECK(cp->registered_devices.at("nvidia.com/gpu") == std::vector<std::string>{"tegra"});
}

TEST_CASE("device checkpoint: pre-1.20 layout without topology") {
  // Checksum computed for the v1 rendering of this content.
  const std::string v1 =
      R"({"Data":{"PodDeviceEntries":[{"PodUID":"p","ContainerName":"c","ResourceName":"r","DeviceIDs":["d1","d2"],"AllocResp":null}],"RegisteredDevices":{"r":["d1","d2"]}},"Checksum":0})";
  auto cp = parse_device_checkpoint(v1);
  REQUIRE(cp.has_value());
  CHECK(cp->layout == "v1");
  CHECK(cp->checksum.status == ChecksumStatus::mismatch);
  CHECK(cp->entries[0].device_ids.at(no_numa_affinity) == std::vector<std::string>{"d1", "d2"});
  CHECK(reason_of(parse_device_checkpoint(R"({"Checksum":1})").error()) == "unknown_layout");
  CHECK(reason_of(parse_device_checkpoint(R"({"Data":{"PodDeviceEntries":[{"DeviceIDs":{"x":[]}}]},"Checksum":1})")
                      .error()) == "unknown_layout");
}
