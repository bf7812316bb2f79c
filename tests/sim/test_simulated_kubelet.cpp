// The simulator's kubelet on a real machine shape (hwloc's 16amd64-8n2c: 8 NUMA nodes, node k
// holds CPUs 2k and 2k+1): static-policy assignments as the kubelet makes them, written in the
// kubelet's v2 layout with a checksum the agent's reader verifies.

#include "numa/checkpoint.hpp"
#include "sim/simulated_kubelet.hpp"
#include "tests/support/hwloc_fixture.hpp"
#include "tests/support/temp_dir.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

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

numa::CpuManagerState read_state(const std::filesystem::path& dir) {
  std::ifstream in(dir / "cpu_manager_state");
  std::stringstream text;
  text << in.rdbuf();
  auto state = numa::parse_cpu_manager_state(text.str());
  REQUIRE(state.has_value());
  return *state;
}

}  // namespace

TEST_CASE("simulated kubelet: exclusive CPUs on one NUMA node, released with the pod, checksum verified") {
  testing::TempDir host, machines;
  const auto root = numa::test::unpack_hwloc_fixture("16amd64-8n2c", host);
  std::filesystem::create_directories(machines.path() / "sim-node-0");
  std::filesystem::create_directory_symlink(root, machines.path() / "sim-node-0" / "host");

  json::object node{{"metadata", {{"name", "sim-node-0"}}},
                    {"status", {{"capacity", {{"cpu", "4"}}}, {"allocatable", {{"cpu", "3920m"}}}}}};
  auto made = sim::machine_for_node(machines.path(), node);
  REQUIRE(made.has_value());
  REQUIRE(made->has_value());
  auto& kubelet = **made;
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
