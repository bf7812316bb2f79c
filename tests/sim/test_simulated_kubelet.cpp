// The simulator's kubelet on real machine shapes (hwloc's 16amd64-8n2c: 8 NUMA nodes, node k
// holds CPUs 2k and 2k+1; the GB200-like shape: two 72-CPU nodes with 480 GiB each, GPU memory
// nodes, four GPUs): static-policy CPU and memory assignments and GPUs as the kubelet's managers
// make them, written in the kubelet's layouts with checksums the agent's readers verify.

#include "numa/checkpoint.hpp"
#include "sim/simulated_kubelet.hpp"
#include "tests/support/hwloc_fixture.hpp"
#include "tests/support/temp_dir.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>
#include <tuple>

using namespace nodepack;
namespace json = boost::json;

namespace {

json::object pod(const std::string& uid, const std::string& node, const std::string& cpu, bool limits,
                 const std::string& phase = "Running") {
  json::object resources{{"requests", {{"cpu", cpu}, {"memory", "1Gi"}}}};
  if (limits) {
    resources["limits"] = {{"cpu", cpu}, {"memory", "1Gi"}};
  }
  return json::object{
      {"metadata", {{"name", "p-" + uid}, {"namespace", "default"}, {"uid", uid}}},
      {"spec", {{"nodeName", node}, {"containers", json::array{{{"name", "app"}, {"resources", resources}}}}}},
      {"status", {{"phase", phase}}}};
}

std::string read_file(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

numa::CpuManagerState read_state(const std::filesystem::path& dir) {
  auto state = numa::parse_cpu_manager_state(read_file(dir / "cpu_manager_state"));
  REQUIRE(state.has_value());
  return *state;
}

numa::MemoryManagerState read_memory(const std::filesystem::path& dir) {
  auto state = numa::parse_memory_manager_state(read_file(dir / "memory_manager_state"));
  REQUIRE(state.has_value());
  CHECK(state->checksum.status == numa::ChecksumStatus::verified);
  CHECK(state->layout == "v1");
  CHECK(state->policy_name == "Static");
  return *state;
}

numa::DeviceCheckpoint read_devices(const std::filesystem::path& dir) {
  auto state = numa::parse_device_checkpoint(read_file(dir / "device-plugins/kubelet_internal_checkpoint"));
  REQUIRE(state.has_value());
  CHECK(state->checksum.status == numa::ChecksumStatus::verified);
  CHECK(state->layout == "v2");
  return *state;
}

// A pod of one container "app" with these requests, limits equal to them when `guaranteed`
// (GPUs are always in limits, as extended resources must be).
json::object pod_asking(const std::string& uid, json::object requests, bool guaranteed) {
  json::object resources{{"requests", requests}};
  if (guaranteed) {
    resources["limits"] = requests;
  } else if (requests.contains("nvidia.com/gpu")) {
    resources["limits"] = {{"nvidia.com/gpu", requests.at("nvidia.com/gpu")}};
  }
  return json::object{
      {"metadata", {{"name", "p-" + uid}, {"namespace", "default"}, {"uid", uid}}},
      {"spec", {{"nodeName", "gb"}, {"containers", json::array{{{"name", "app"}, {"resources", resources}}}}}},
      {"status", {{"phase", "Running"}}}};
}

constexpr std::uint64_t gib = 1ULL << 30;
const std::string gpu1 = "GPU-6c8f2b6e-1a3d-4f0e-9b1a-2f7c0d5e8a01";  // 0008:06:00.0, NUMA node 0
const std::string gpu2 = "GPU-6c8f2b6e-1a3d-4f0e-9b1a-2f7c0d5e8a02";  // 0009:06:00.0, NUMA node 0
const std::string gpu3 = "GPU-6c8f2b6e-1a3d-4f0e-9b1a-2f7c0d5e8a03";  // 0018:06:00.0, NUMA node 1
const std::string gpu4 = "GPU-6c8f2b6e-1a3d-4f0e-9b1a-2f7c0d5e8a04";  // 0019:06:00.0, NUMA node 1

// pod -> NUMA node -> GPUs, from the checkpoint.
std::map<std::string, std::map<std::int64_t, std::vector<std::string>>> gpus_by_pod(const numa::DeviceCheckpoint& d) {
  std::map<std::string, std::map<std::int64_t, std::vector<std::string>>> out;
  for (const auto& e : d.entries) {
    CHECK(e.container_name == "app");
    CHECK(e.resource_name == "nvidia.com/gpu");
    out[e.pod_uid] = e.device_ids;
  }
  return out;
}

// The kubelet of `node` on the machine `root`, placed under `machines` as nodepack-sim expects.
sim::SimulatedKubelet kubelet_on(const std::filesystem::path& root, const testing::TempDir& machines,
                                 json::object& node) {
  const std::string name(node["metadata"].as_object()["name"].as_string());
  std::filesystem::create_directories(machines.path() / name);
  std::filesystem::create_directory_symlink(root, machines.path() / name / "host");
  auto made = sim::machine_for_node(machines.path(), node);
  REQUIRE(made.has_value());
  REQUIRE(made->has_value());
  return std::move(**made);
}

}  // namespace

TEST_CASE("simulated kubelet: exclusive CPUs on one NUMA node, released with the pod, checksum verified") {
  testing::TempDir host, machines;
  json::object node{{"metadata", {{"name", "sim-node-0"}}},
                    {"status", {{"capacity", {{"cpu", "4"}}}, {"allocatable", {{"cpu", "3920m"}}}}}};
  auto kubelet = kubelet_on(numa::test::unpack_hwloc_fixture("16amd64-8n2c", host), machines, node);
  // The machine's CPUs, CPU 0 reserved.
  CHECK(node["status"].at("capacity").at("cpu") == "16");
  CHECK(node["status"].at("allocatable").at("cpu") == "15");
  // MemTotal over the 8 nodes: 8 GiB each, node 0 1904 kB less (its meminfo says so).
  CHECK(node["status"].at("capacity").at("memory") == "68717527040");
  CHECK(node["status"].at("allocatable").at("pods") == "250");

  const auto dir = machines.path() / "sim-node-0" / "kubelet";
  std::vector<json::object> pods{pod("g2", "sim-node-0", "2", true), pod("burst", "sim-node-0", "2", false),
                                 pod("frac", "sim-node-0", "1500m", true), pod("other", "sim-node-1", "2", true),
                                 pod("g1", "sim-node-0", "1", true)};
  REQUIRE(kubelet.sync(pods).has_value());
  auto state = read_state(dir);
  CHECK(state.checksum.status == numa::ChecksumStatus::verified);
  CHECK(state.checksum.layout == "v2");
  CHECK(state.policy_name == "static");
  // Only Guaranteed pods with whole CPUs on this node: g2 gets a whole NUMA node (the fullest one
  // with room: node 1, as node 0 lost CPU 0 to the reservation), g1 the reserved node's other CPU.
  REQUIRE(state.entries.size() == 2);
  CHECK(state.entries.at("g2").at("app") == numa::CpuSet{2, 3});
  CHECK(state.entries.at("g1").at("app") == numa::CpuSet{1});
  CHECK(state.default_cpu_set == *numa::CpuSet::parse("4-15"));

  // g2 finishes, g1 is deleted: their CPUs return to the shared pool.
  pods[0] = pod("g2", "sim-node-0", "2", true, "Succeeded");
  pods.pop_back();
  REQUIRE(kubelet.sync(pods).has_value());
  state = read_state(dir);
  CHECK(state.checksum.status == numa::ChecksumStatus::verified);
  CHECK(state.entries.empty());
  CHECK(state.default_cpu_set == *numa::CpuSet::parse("1-15"));
  // Memory: frac (Guaranteed, no exclusive CPUs) stays on node 0, the lowest with room.
  const auto memory = read_memory(dir);
  REQUIRE(memory.entries.size() == 1);
  CHECK(memory.entries.at("frac").at("app") == std::vector<numa::MemoryBlock>{{{0}, "memory", gib}});
  CHECK(memory.machine_state.at(0).memory_map.at("memory").reserved == gib);
  CHECK(memory.machine_state.at(1).memory_map.at("memory").reserved == 0);
  CHECK(memory.machine_state.at(1).number_of_assignments == 0);
  // No GPUs on this machine: no device checkpoint, no nvidia.com/gpu.
  CHECK_FALSE(std::filesystem::exists(dir / "device-plugins/kubelet_internal_checkpoint"));
  CHECK_FALSE(node["status"].at("capacity").as_object().contains("nvidia.com/gpu"));
}

TEST_CASE("simulated kubelet: memory of Guaranteed pods reserved where their CPUs went, freed with them") {
  testing::TempDir host, machines;
  json::object node{{"metadata", {{"name", "sim-node-0"}}},
                    {"status", {{"capacity", json::object{}}, {"allocatable", json::object{}}}}};
  auto kubelet = kubelet_on(numa::test::unpack_hwloc_fixture("16amd64-8n2c", host), machines, node);
  const auto dir = machines.path() / "sim-node-0" / "kubelet";

  // The machine state before any pod: node 0 gives 1 GiB to the system (--reserved-memory).
  std::vector<json::object> pods;
  REQUIRE(kubelet.sync(pods).has_value());
  auto memory = read_memory(dir);
  REQUIRE(memory.machine_state.size() == 8);
  CHECK(memory.entries.empty());
  const std::uint64_t node0 = 8ULL * gib - 1904 * 1024;
  CHECK(memory.machine_state.at(0).memory_map.at("memory") ==
        numa::MemoryTable{node0, gib, node0 - gib, 0, node0 - gib});
  CHECK(memory.machine_state.at(7).memory_map.at("memory") == numa::MemoryTable{8 * gib, 0, 8 * gib, 0, 8 * gib});
  CHECK(memory.machine_state.at(7).cells == std::vector<int>{7});
  CHECK(node["status"].at("allocatable").at("memory").as_string() == std::to_string(68717527040ULL - gib));

  // g2: CPUs 2-3 (node 1), so its 3 GiB there; big: CPUs 4-5 (node 2), its 6 GiB there.
  for (const auto& [uid, cpu, mem] : {std::tuple{"g2", "2", "3Gi"}, std::tuple{"big", "2", "6Gi"}}) {
    pods.push_back(pod_asking(uid, {{"cpu", cpu}, {"memory", mem}}, true));
    pods.back()["spec"].as_object()["nodeName"] = "sim-node-0";
  }
  REQUIRE(kubelet.sync(pods).has_value());
  CHECK(read_state(dir).entries.at("g2").at("app") == numa::CpuSet{2, 3});
  CHECK(read_state(dir).entries.at("big").at("app") == numa::CpuSet{4, 5});
  memory = read_memory(dir);
  CHECK(memory.entries.at("g2").at("app") == std::vector<numa::MemoryBlock>{{{1}, "memory", 3 * gib}});
  CHECK(memory.entries.at("big").at("app") == std::vector<numa::MemoryBlock>{{{2}, "memory", 6 * gib}});
  CHECK(memory.machine_state.at(1).memory_map.at("memory") == numa::MemoryTable{8 * gib, 0, 8 * gib, 3 * gib, 5 * gib});
  CHECK(memory.machine_state.at(1).number_of_assignments == 1);
  CHECK(memory.machine_state.at(2).memory_map.at("memory").free == 2 * gib);

  // A fractional Guaranteed pod of 12 GiB fits on no single node: the kubelet groups nodes, the
  // lowest free ones (0 and 3), taking node 0's free memory first; both name the group.
  pods.push_back(pod_asking("wide", {{"cpu", "500m"}, {"memory", "12Gi"}}, true));
  pods.back()["spec"].as_object()["nodeName"] = "sim-node-0";
  REQUIRE(kubelet.sync(pods).has_value());
  memory = read_memory(dir);
  CHECK(memory.entries.at("wide").at("app") == std::vector<numa::MemoryBlock>{{{0, 3}, "memory", 12 * gib}});
  CHECK(memory.machine_state.at(0).memory_map.at("memory").free == 0);
  CHECK(memory.machine_state.at(3).memory_map.at("memory").reserved == 12 * gib - (node0 - gib));
  CHECK(memory.machine_state.at(0).cells == std::vector<int>{0, 3});
  CHECK(memory.machine_state.at(3).cells == std::vector<int>{0, 3});

  // g2 and wide go: their memory is free again, the group dissolves; big keeps its 6 GiB.
  pods.erase(pods.begin());
  pods.pop_back();
  REQUIRE(kubelet.sync(pods).has_value());
  memory = read_memory(dir);
  CHECK(memory.entries.size() == 1);
  CHECK(memory.entries.count("big") == 1);
  CHECK(memory.machine_state.at(0).memory_map.at("memory") ==
        numa::MemoryTable{node0, gib, node0 - gib, 0, node0 - gib});
  CHECK(memory.machine_state.at(0).cells == std::vector<int>{0});
  CHECK(memory.machine_state.at(3).cells == std::vector<int>{3});
  CHECK(memory.machine_state.at(3).number_of_assignments == 0);
  CHECK(memory.machine_state.at(1).memory_map.at("memory").reserved == 0);
  CHECK(memory.machine_state.at(2).memory_map.at("memory").reserved == 6 * gib);
}

TEST_CASE("simulated kubelet on a GB200-like node: GPUs by NUMA node, hugepages, memory with the CPUs") {
  testing::TempDir host, machines;
  json::object node{{"metadata", {{"name", "gb"}, {"labels", {{"team", "ml"}}}}},
                    {"status", {{"capacity", json::object{}}, {"allocatable", json::object{}}}}};
  auto kubelet = kubelet_on(numa::test::unpack_shape_fixture("gb200-like", host), machines, node);
  const auto& capacity = node["status"].at("capacity");
  const auto& allocatable = node["status"].at("allocatable");
  CHECK(capacity.at("nvidia.com/gpu") == "4");
  CHECK(allocatable.at("nvidia.com/gpu") == "4");
  CHECK(node["metadata"].at("labels").at("nvidia.com/gpu.present") == "true");
  CHECK(node["metadata"].at("labels").at("team") == "ml");
  CHECK(capacity.at("hugepages-512Mi").as_string() == std::to_string(8 * gib));
  CHECK(capacity.at("hugepages-2Mi") == "0");
  CHECK(capacity.at("memory") == "1829656068096");
  CHECK(allocatable.at("memory").as_string() == std::to_string(1829656068096ULL - gib - 8 * gib));
  const auto dir = machines.path() / "gb" / "kubelet";

  std::vector<json::object> pods{
      // a: 4 CPUs on node 0 (the fuller one, CPU 0 being reserved), its memory, hugepages and GPU there.
      pod_asking("a", {{"cpu", "4"}, {"memory", "8Gi"}, {"hugepages-512Mi", "1Gi"}, {"nvidia.com/gpu", "1"}}, true),
      // b: 70 CPUs fit only on node 1; its memory and both GPUs there.
      pod_asking("b", {{"cpu", "70"}, {"memory", "16Gi"}, {"nvidia.com/gpu", "2"}}, true),
      // c: Burstable, no CPUs or memory of its own; the lowest free GPU.
      pod_asking("c", {{"cpu", "500m"}, {"nvidia.com/gpu", "1"}}, false),
      // d: fractional Guaranteed: memory on the lowest node with room.
      pod_asking("d", {{"cpu", "1500m"}, {"memory", "1Gi"}}, true),
  };
  REQUIRE(kubelet.sync(pods).has_value());
  const auto cpus = read_state(dir);
  CHECK(cpus.entries.at("a").at("app") == *numa::CpuSet::parse("1-4"));
  CHECK(cpus.entries.at("b").at("app") == *numa::CpuSet::parse("72-141"));

  auto devices = read_devices(dir);
  CHECK(devices.registered_devices.at("nvidia.com/gpu") == std::vector<std::string>{gpu1, gpu2, gpu3, gpu4});
  auto gpus = gpus_by_pod(devices);
  REQUIRE(gpus.size() == 3);
  CHECK(gpus.at("a") == std::map<std::int64_t, std::vector<std::string>>{{0, {gpu1}}});
  CHECK(gpus.at("b") == std::map<std::int64_t, std::vector<std::string>>{{1, {gpu3, gpu4}}});
  CHECK(gpus.at("c") == std::map<std::int64_t, std::vector<std::string>>{{0, {gpu2}}});

  auto memory = read_memory(dir);
  REQUIRE(memory.machine_state.size() == 34);
  CHECK(memory.entries.at("a").at("app") ==
        std::vector<numa::MemoryBlock>{{{0}, "hugepages-512Mi", gib}, {{0}, "memory", 8 * gib}});
  CHECK(memory.entries.at("b").at("app") == std::vector<numa::MemoryBlock>{{{1}, "memory", 16 * gib}});
  CHECK(memory.entries.at("d").at("app") == std::vector<numa::MemoryBlock>{{{0}, "memory", gib}});
  CHECK(memory.entries.count("c") == 0);
  const std::uint64_t socket = 515396075520ULL;
  const std::uint64_t node0 = socket - gib - 8 * gib;  // less the system's GiB and the hugepages
  const auto& n0 = memory.machine_state.at(0);
  CHECK(n0.memory_map.at("memory") == numa::MemoryTable{socket, gib, node0, 9 * gib, node0 - 9 * gib});
  CHECK(n0.memory_map.at("hugepages-512Mi") == numa::MemoryTable{8 * gib, 0, 8 * gib, gib, 7 * gib});
  CHECK(n0.memory_map.at("hugepages-2Mi") == numa::MemoryTable{});
  CHECK(n0.number_of_assignments == 3);  // a's two blocks, d's one
  CHECK(memory.machine_state.at(1).memory_map.at("memory") ==
        numa::MemoryTable{socket, 0, socket, 16 * gib, socket - 16 * gib});
  // A GPU's memory node: listed with its 186 GiB, nothing reserved on it.
  CHECK(memory.machine_state.at(2).memory_map.at("memory") ==
        numa::MemoryTable{199715979264ULL, 0, 199715979264ULL, 0, 199715979264ULL});

  // a and c go: their GPUs and memory are free again; f, asking for two, gets node 0's pair.
  pods.erase(pods.begin());
  pods.erase(pods.begin() + 1);
  pods.push_back(pod_asking("f", {{"cpu", "200m"}, {"nvidia.com/gpu", "2"}}, false));
  REQUIRE(kubelet.sync(pods).has_value());
  devices = read_devices(dir);
  gpus = gpus_by_pod(devices);
  REQUIRE(gpus.size() == 2);
  CHECK(gpus.at("b") == std::map<std::int64_t, std::vector<std::string>>{{1, {gpu3, gpu4}}});
  CHECK(gpus.at("f") == std::map<std::int64_t, std::vector<std::string>>{{0, {gpu1, gpu2}}});
  memory = read_memory(dir);
  CHECK(memory.entries.size() == 2);
  CHECK(memory.machine_state.at(0).memory_map.at("memory").reserved == gib);
  CHECK(memory.machine_state.at(0).memory_map.at("hugepages-512Mi").free == 8 * gib);
  CHECK(memory.machine_state.at(0).number_of_assignments == 1);

  // Everything goes: no entries, PodDeviceEntries null as the kubelet writes it, still verified.
  pods.clear();
  REQUIRE(kubelet.sync(pods).has_value());
  CHECK(read_devices(dir).entries.empty());
  CHECK(read_file(dir / "device-plugins/kubelet_internal_checkpoint").find("\"PodDeviceEntries\":null") !=
        std::string::npos);
  CHECK(read_memory(dir).entries.empty());
}

TEST_CASE("simulated kubelet: a node without a machine keeps its shape; a broken machine is an error") {
  testing::TempDir machines;
  json::object node{{"metadata", {{"name", "sim-node-0"}}}, {"status", {{"allocatable", {{"cpu", "4"}}}}}};
  auto none = sim::machine_for_node(machines.path(), node);
  REQUIRE(none.has_value());
  CHECK_FALSE(none->has_value());
  CHECK(node["status"].at("allocatable").at("cpu") == "4");

  std::filesystem::create_directories(machines.path() / "sim-node-0" / "host" / "sys/devices/system/node/node0");
  std::ofstream(machines.path() / "sim-node-0" / "host" / "sys/devices/system/node/node0" / "cpulist") << "0-x\n";
  auto broken = sim::machine_for_node(machines.path(), node);
  REQUIRE_FALSE(broken.has_value());
  CHECK(broken.error().message.find("cpulist") != std::string::npos);
}
