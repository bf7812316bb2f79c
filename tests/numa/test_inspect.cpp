#include "numa/inspect.hpp"

#include "tests/support/fixtures.hpp"
#include "tests/support/hwloc_fixture.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <cstdlib>
#include <iostream>
#include <optional>
#include <sstream>

using namespace nodepack::numa;
using namespace nodepack::numa::test;
using namespace nodepack::testing;

namespace {

struct Run {
  int code;
  std::string out;
  std::string err;
};

Run inspect(std::vector<std::string> args) {
  args.insert(args.begin(), "numa");
  std::vector<char*> argv;
  for (auto& a : args) {
    argv.push_back(a.data());
  }
  std::ostringstream out;
  std::ostringstream err;
  auto* old_out = std::cout.rdbuf(out.rdbuf());
  auto* old_err = std::cerr.rdbuf(err.rdbuf());
  const int code = run_inspect_numa(static_cast<int>(argv.size()), argv.data());
  std::cout.rdbuf(old_out);
  std::cerr.rdbuf(old_err);
  return {code, out.str(), err.str()};
}

// 8 NUMA nodes of 2 CPUs, with a CPU manager checkpoint pinning CPUs 1-6.
struct FixtureHost {
  TempDir tmp;
  std::filesystem::path root = unpack_hwloc_fixture("16amd64-8n2c", tmp);
  std::filesystem::path kubelet = tmp.path() / "kubelet";
  FixtureHost() {
    write_file(kubelet / "cpu_manager_state",
               kubelet_fixture("cpu_manager_state.k8s-unittest.v3name-emptypodentries.json"));
  }
};

}  // namespace

TEST_CASE("inspect numa on a fixture host root") {
  const FixtureHost host;
  const auto& root = host.root;
  const auto& kubelet = host.kubelet;

  SECTION("prometheus") {
    const Run r = inspect({"--host-root", root.string(), "--kubelet-root=" + kubelet.string(), "--node-name", "n1"});
    REQUIRE(r.code == 0);
    CHECK(r.out.find("numainfo_node_count{node=\"n1\"} 8\n") != std::string::npos);
    // pod/container1 holds 4-6, container2 1-3: node01 (2-3) has both its CPUs pinned.
    CHECK(r.out.find("numainfo_core_count{node=\"n1\",numanode=\"node01\",type=\"allocation\"} 2\n") !=
          std::string::npos);
    CHECK(r.out.find("numainfo_core_count{node=\"n1\",numanode=\"node03\",type=\"allocation\"} 1\n") !=
          std::string::npos);
    CHECK(r.out.find("numainfo_core_count{node=\"n1\",numanode=\"node04\",type=\"allocation\"} 0\n") !=
          std::string::npos);
    CHECK(r.out.find("numainfo_checkpoint_valid{file=\"cpu_manager_state\",node=\"n1\"} 1\n") != std::string::npos);
  }

  SECTION("json") {
    const Run r = inspect(
        {"--host-root=" + root.string(), "--kubelet-root", kubelet.string(), "--node-name", "n1", "--format", "json"});
    REQUIRE(r.code == 0);
    const auto doc = boost::json::parse(r.out);
    const auto& zones = doc.at("zones").as_array();
    REQUIRE(zones.size() == 8);
    CHECK(zones[2].at("name").as_string() == "node02");
    CHECK(zones[2].at("resources").at("cpu").at("allocation").to_number<int>() == 2);
    CHECK(doc.at("numa").at("files").as_array()[0].at("checksum").as_string() == "verified");
    CHECK(doc.at("numa").at("containers").as_array().size() == 2);
  }
}

TEST_CASE("inspect numa takes numainfo_exporter's -K, -N, -M and $NUMAINFO_NODENAME") {
  const FixtureHost host;
  const auto& root = host.root;
  const auto& kubelet = host.kubelet;

  SECTION("-K -N -M: the metrics on stderr, as numainfo_exporter dumped them") {
    const Run r = inspect({"--host-root", root.string(), "-K", kubelet.string(), "-N", "test.k8s.io", "-M"});
    REQUIRE(r.code == 0);
    CHECK(r.out.empty());
    CHECK(r.err.find("numainfo_node_count{node=\"test.k8s.io\"} 8\n") != std::string::npos);
    CHECK(r.err.find("numainfo_core_count{node=\"test.k8s.io\",numanode=\"node01\",type=\"allocation\"} 2\n") !=
          std::string::npos);
    // Its own labels but goversion, which names the compiler instead; version "1" as it had.
    CHECK(r.err.find("numainfo_version{branch=\"") != std::string::npos);
    CHECK(r.err.find("\",version=\"1\"} 1\n") != std::string::npos);
    CHECK(r.err.find("# TYPE numainfo_pcidevice_count gauge\n") != std::string::npos);
  }

  SECTION("--kube-state, numainfo_exporter's long name for -K") {
    const Run r = inspect({"--host-root", root.string(), "--kube-state", kubelet.string(), "-N", "n2"});
    REQUIRE(r.code == 0);
    CHECK(r.out.find("numainfo_node_count{node=\"n2\"} 8\n") != std::string::npos);
    CHECK(r.out.find("numainfo_core_count{node=\"n2\",numanode=\"node01\",type=\"allocation\"} 2\n") !=
          std::string::npos);
  }

  SECTION("$NUMAINFO_NODENAME when neither -N nor $NODE_NAME is given") {
    const char* saved = std::getenv("NODE_NAME");
    const std::string saved_value = saved != nullptr ? saved : "";
    ::unsetenv("NODE_NAME");
    ::setenv("NUMAINFO_NODENAME", "from-numainfo", 1);
    const Run r = inspect({"--host-root", root.string(), "-K", kubelet.string()});
    ::unsetenv("NUMAINFO_NODENAME");
    if (saved != nullptr) {
      ::setenv("NODE_NAME", saved_value.c_str(), 1);
    }
    REQUIRE(r.code == 0);
    CHECK(r.out.find("numainfo_node_count{node=\"from-numainfo\"} 8\n") != std::string::npos);
  }
}

TEST_CASE("inspect numa refuses bad flags with 2") {
  CHECK(inspect({"--bogus"}).code == 2);
  CHECK(inspect({"--format", "xml"}).code == 2);
  CHECK(inspect({"--host-root"}).code == 2);
  CHECK(inspect({"--reserved-cpus", "a-b"}).code == 2);
  const Run r = inspect({"--format=yaml"});
  CHECK(r.err.find("--format must be json or prometheus") != std::string::npos);
  CHECK(inspect({"--help"}).code == 0);
}

TEST_CASE("inspect numa on a root without a topology fails with 1") {
  TempDir tmp;
  CHECK(inspect({"--host-root", tmp.path().string(), "--node-name", "n"}).code == 1);
}

// The arm64 server fixture as `nodepack inspect numa` renders it: the same series and values on
// the x86-64 build and on the arm64 build under emulation.
TEST_CASE("inspect numa on an arm64 host root (Kunpeng 920)") {
  TempDir tmp;
  const auto root = unpack_hwloc_fixture("128arm-2pa2n8cluster4co", tmp);
  const Run r =
      inspect({"--host-root", root.string(), "--kubelet-root", (tmp.path() / "kubelet").string(), "--node-name", "n1"});
  REQUIRE(r.code == 0);
  CHECK(r.out.find("numainfo_node_count{node=\"n1\"} 4\n") != std::string::npos);
  const std::vector<std::string> memory_bytes = {"134894530560", "135288770560", "135288766464", "134207905792"};
  for (int n = 0; n < 4; ++n) {
    const std::string zone = "numanode=\"node0" + std::to_string(n) + "\"";
    INFO(zone);
    CHECK(r.out.find("numainfo_core_count{node=\"n1\"," + zone + ",type=\"capacity\"} 32\n") != std::string::npos);
    CHECK(r.out.find("numainfo_memory_bytes{node=\"n1\"," + zone + ",type=\"capacity\"} " + memory_bytes[n] + "\n") !=
          std::string::npos);
    for (const char* size : {"64Ki", "2Mi", "32Mi", "1Gi"}) {
      CHECK(r.out.find("numainfo_hugepages_bytes{node=\"n1\"," + zone + ",size=\"" + size +
                       "\",type=\"capacity\"} 0\n") != std::string::npos);
    }
  }
}

namespace {

// The value of the one sample line that starts with `series` ("name{labels}"), or nullopt.
std::optional<double> sample(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(series + " ", 0) == 0) {
      return std::stod(line.substr(series.size() + 1));
    }
  }
  return std::nullopt;
}

// Sum of every sample of `name` whose labels contain `with`.
double sum_of(const std::string& text, const std::string& name, const std::string& with) {
  double total = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name + "{", 0) == 0 && line.find(with) != std::string::npos) {
      total += std::stod(line.substr(line.rfind(' ') + 1));
    }
  }
  return total;
}

std::size_t count_of(const std::string& text, const std::string& prefix) {
  std::size_t n = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    n += line.rfind(prefix, 0) == 0 ? 1 : 0;
  }
  return n;
}

}  // namespace

// The numbers tests/fixtures/numa-shapes/README.md derives by hand from the files.
TEST_CASE("inspect numa on gb200-like gives the hand-derived numbers") {
  TempDir tmp;
  const auto root = unpack_shape_fixture("gb200-like", tmp);
  const Run r = inspect({"--host-root", root.string(), "--node-name", "gb"});
  REQUIRE(r.code == 0);
  CHECK(sample(r.out, R"(numainfo_node_count{node="gb"})") == 34);
  CHECK(sample(r.out, R"(numainfo_node_info{has_cpus="true",memory_kind="dram",node="gb",numanode="node00"})") == 1);
  CHECK(sample(r.out, R"(numainfo_node_info{has_cpus="true",memory_kind="dram",node="gb",numanode="node01"})") == 1);
  for (const char* gpu : {"node02", "node10", "node18", "node26"}) {
    CHECK(sample(r.out, std::string(R"(numainfo_node_info{has_cpus="false",memory_kind="gpu",node="gb",numanode=")") +
                            gpu + "\"}") == 1);
    CHECK(sample(r.out, std::string(R"(numainfo_memory_bytes{node="gb",numanode=")") + gpu + R"(",type="capacity"})") ==
          199715979264.0);
  }
  CHECK(count_of(r.out, R"(numainfo_node_info{has_cpus="false",memory_kind="none")") == 28);
  CHECK(sample(r.out, R"(numainfo_core_count{node="gb",numanode="node00",type="capacity"})") == 72);
  CHECK(sample(r.out, R"(numainfo_core_count{node="gb",numanode="node02",type="capacity"})") == 0);
  CHECK(sum_of(r.out, "numainfo_core_count", R"(type="capacity")") == 144);
  CHECK(sample(r.out, R"(numainfo_memory_bytes{node="gb",numanode="node00",type="capacity"})") == 515396075520.0);
  CHECK(sample(r.out, R"(numainfo_memory_bytes{node="gb",numanode="node03",type="capacity"})") == 0);
  CHECK(sum_of(r.out, "numainfo_memory_bytes", R"(type="capacity")") == 1829656068096.0);
  CHECK(sample(r.out, R"(numainfo_hugepages_bytes{node="gb",numanode="node00",size="512Mi",type="capacity"})") ==
        8589934592.0);
  CHECK(sample(r.out, R"(numainfo_hugepages_bytes{node="gb",numanode="node00",size="512Mi",type="free"})") ==
        6442450944.0);
  CHECK(sample(r.out, R"(numainfo_distance{node="gb",numanode="node00",to="node01"})") == 40);
  CHECK(sample(r.out, R"(numainfo_distance{node="gb",numanode="node00",to="node02"})") == 80);
  CHECK(sample(r.out, R"(numainfo_distance{node="gb",numanode="node00",to="node26"})") == 120);
  CHECK(count_of(r.out, "numainfo_distance{") == 34 * 34);
}

TEST_CASE("inspect numa on tiered-hbm-cxl gives the hand-derived numbers") {
  TempDir tmp;
  const auto root = unpack_shape_fixture("tiered-hbm-cxl", tmp);
  const Run r = inspect({"--host-root", root.string(), "--node-name", "t", "--format", "json"});
  REQUIRE(r.code == 0);
  const auto doc = boost::json::parse(r.out);
  const auto& nodes = doc.at("numa").at("topology").at("nodes").as_array();
  REQUIRE(nodes.size() == 5);
  const std::vector<std::string> kinds = {"dram", "dram", "hbm", "hbm", "cxl"};
  const std::vector<std::string> cpus = {"0-15,32-47", "16-31,48-63", "", "", ""};
  const std::vector<std::uint64_t> memory = {134217728000ull, 134217728000ull, 68719476736ull, 68719476736ull,
                                             137438953472ull};
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    INFO("node " << i);
    CHECK(nodes[i].at("memory_kind").as_string() == kinds[i]);
    CHECK(nodes[i].at("cpus").as_string() == cpus[i]);
    CHECK(nodes[i].at("memory_bytes").to_number<std::uint64_t>() == memory[i]);
  }
  CHECK(nodes[2].at("distances").at("node00").to_number<int>() == 13);
  CHECK(nodes[4].at("hmat").at("read_bandwidth_mbps").to_number<int>() == 30000);
  CHECK(doc.at("numa").at("topology").at("invariants").at("hold").as_bool());
  const auto& zones = doc.at("zones").as_array();
  REQUIRE(zones.size() == 5);
  CHECK(zones[2].at("resources").at("cpu").at("capacity").to_number<int>() == 0);
  CHECK(zones[0].at("resources").at("cpu").at("capacity").to_number<int>() == 32);
  CHECK(zones[0].at("resources").at("hugepages-1Gi").at("capacity").to_number<std::uint64_t>() == 4294967296ull);
}
