// --nrt.export end to end: the agent on the GB200-like machine (2 CPU nodes, 32 CPU-less GPU
// and memory nodes) with a fake kubelet serving pod-resources, writing its NodeResourceTopology to
// the fake API server. The object must say what /metrics says, zone by zone, follow the kubelet
// when it hands out less, and survive someone else writing the object meanwhile.

#include "agent/agent.hpp"
#include "numa/checkpoint.hpp"
#include "sim/fake_api_server.hpp"
#include "tests/sim/test_client.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/fake_podresources.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/hwloc_fixture.hpp"
#include "tests/support/kubelet_checksum.hpp"
#include "tests/support/metrics_text.hpp"
#include "tests/support/temp_dir.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <thread>

using namespace nodepack;
using nodepack::sim::Kind;
using nodepack::sim::test::http_get;
using nodepack::testing::eventually;
using nodepack::testing::FakePodResources;
using nodepack::testing::metric;
using nodepack::testing::parse_metrics;
namespace json = boost::json;

namespace {

constexpr std::uint64_t GiB = 1ull << 30;
constexpr const char* node_name = "gb200-0";

std::string pr_fixture(const std::string& file) {
  return testing::read_file(testing::fixtures() / "podresources/gb200-like" / file);
}

// The quantities of one zone's resources, by name: {capacity, allocatable, available}.
using Quantities = std::map<std::string, std::array<std::uint64_t, 3>>;

std::uint64_t quantity(const json::value& v) { return std::stoull(std::string(v.as_string())); }

std::map<std::string, Quantities> zones_of(const json::object& nrt) {
  std::map<std::string, Quantities> out;
  for (const auto& z : nrt.at("zones").as_array()) {
    auto& q = out[std::string(z.at("name").as_string())];
    for (const auto& r : z.at("resources").as_array()) {
      q[std::string(r.at("name").as_string())] = {quantity(r.at("capacity")), quantity(r.at("allocatable")),
                                                  quantity(r.at("available"))};
    }
  }
  return out;
}

// What /metrics says of NUMA node `id`, in the object's terms: available = allocatable - allocation.
Quantities zone_from_metrics(const std::map<std::string, double>& m, unsigned id) {
  char numanode[16];
  std::snprintf(numanode, sizeof numanode, "node%02u", id);
  const std::string at = std::string(R"(node=")") + node_name + R"(",numanode=")" + numanode + "\"";
  auto value = [&](const std::string& series) -> std::uint64_t {
    const auto v = metric(m, series);
    INFO(series);
    REQUIRE(v.has_value());
    return static_cast<std::uint64_t>(*v);
  };
  auto triple = [&](const std::string& prefix) -> std::array<std::uint64_t, 3> {
    const auto capacity = value(prefix + R"(,type="capacity"})");
    const auto allocatable = value(prefix + R"(,type="allocatable"})");
    const auto allocation = value(prefix + R"(,type="allocation"})");
    return {capacity, allocatable, allocatable - allocation};
  };
  Quantities q;
  q["cpu"] = triple("numainfo_core_count{" + at);
  q["memory"] = triple("numainfo_memory_bytes{" + at);
  const std::string huge = "numainfo_hugepages_bytes{" + at + R"(,size=")";
  const std::string devices = "numainfo_device_count{" + at + R"(,resource=")";
  for (const auto& [series, v] : m) {
    if (series.rfind(huge, 0) == 0 && series.find(R"(type="capacity")") != std::string::npos) {
      const auto size = series.substr(huge.size(), series.find('"', huge.size()) - huge.size());
      q["hugepages-" + size] = triple(huge + size + "\"");
    }
    if (series.rfind(devices, 0) == 0 && series.find(R"(type="allocatable")") != std::string::npos) {
      const auto resource = series.substr(devices.size(), series.find('"', devices.size()) - devices.size());
      const auto allocatable = static_cast<std::uint64_t>(v);
      if (allocatable == 0) {
        continue;  // the object lists a zone's devices only where it has some
      }
      const auto allocated = metric(m, devices + resource + R"(",type="allocation"})").value_or(0);
      q[resource] = {allocatable, allocatable, allocatable - static_cast<std::uint64_t>(allocated)};
    }
  }
  return q;
}

struct Rig {
  testing::TempDir host;
  std::filesystem::path root = numa::test::unpack_shape_fixture("gb200-like", host);
  std::filesystem::path kubelet_root = root / "var/lib/kubelet";
  FakePodResources kubelet{kubelet_root / "pod-resources/kubelet.sock"};
  sim::FakeApiServer api;
  std::unique_ptr<agent::Agent> agent;

  explicit Rig(bool podresources, bool checkpoints) {
    testing::write_file(kubelet_root / "config.yaml",
                        "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
                        "topologyManagerPolicy: single-numa-node\ntopologyManagerScope: pod\n");
    if (podresources) {
      kubelet.set_list(FakePodResources::list_from_json(pr_fixture("list.json")));
      kubelet.set_allocatable(FakePodResources::allocatable_from_json(pr_fixture("allocatable.json")));
      kubelet.start();
    }
    if (checkpoints) {
      testing::write_file(kubelet_root / "cpu_manager_state",
                          testing::with_kubelet_checksum(
                              pr_fixture("cpu_manager_state.json"),
                              [](std::string_view t) { return numa::parse_cpu_manager_state(t); }, "v2"));
      testing::write_file(kubelet_root / "memory_manager_state",
                          testing::with_kubelet_checksum(
                              pr_fixture("memory_manager_state.json"),
                              [](std::string_view t) { return numa::parse_memory_manager_state(t); }, "v1"));
      testing::write_file(kubelet_root / "device-plugins/kubelet_internal_checkpoint",
                          testing::with_kubelet_checksum(
                              pr_fixture("kubelet_internal_checkpoint.json"),
                              [](std::string_view t) { return numa::parse_device_checkpoint(t); }, "v2"));
    }
    REQUIRE(api.start().has_value());
    REQUIRE(api.upsert(Kind::node, json::parse(std::string(R"({"metadata":{"name":")") + node_name +
                                               R"(","uid":"node-uid-1"},"status":{"allocatable":{"cpu":"140"}}})")
                                       .as_object())
                .has_value());
    auto options = agent::parse_agent_options(
        {std::string("--node-name=") + node_name, "--metrics-addr=127.0.0.1:0", "--host-root=" + root.string(),
         "--kubelet-root=" + kubelet_root.string(), "--reserved-cpus=0-1,72-73", "--collectors.bpf=false",
         "--auth.mode=none", "--nrt.export", "--nrt.interval=1s", "--podresources-interval=1s",
         podresources ? "--podresources-socket=" + kubelet.socket().string() : std::string("--podresources-socket=")},
        "");
    REQUIRE(options.has_value());
    kube::ClusterConfig cluster;
    cluster.server = api.url();
    agent = std::make_unique<agent::Agent>(std::move(*options), cluster, SystemClock::instance());
    REQUIRE(agent->start().has_value());
  }
  ~Rig() {
    if (agent) {
      agent->stop();
    }
  }

  std::optional<json::object> nrt() const { return api.get(Kind::node_resource_topology, "", node_name); }
  std::map<std::string, double> metrics() const {
    return parse_metrics(http_get(agent->endpoint().port(), "/metrics").body);
  }

  // Waits until the object in the API server says what /metrics says (both read again each time),
  // and returns it.
  json::object agreed(const std::function<bool(const std::map<std::string, double>&)>& metrics_ready) {
    json::object last;
    const bool ok = eventually(
        [&] {
          const auto m = metrics();
          const auto o = nrt();
          if (!metrics_ready(m) || !o) {
            return false;
          }
          last = *o;
          const auto zones = zones_of(*o);
          for (unsigned id = 0; id < 34; ++id) {
            auto z = zones.find("node-" + std::to_string(id));
            if (z == zones.end() || z->second != zone_from_metrics(m, id)) {
              return false;
            }
          }
          // Written before the agent saw its Node, the object has no owner yet; it is rewritten with one.
          return zones.size() == 34 && o->at("metadata").as_object().contains("ownerReferences");
        },
        std::chrono::seconds(20), std::chrono::milliseconds(20));
    INFO(json::serialize(last));
    REQUIRE(ok);
    return last;
  }
};

bool podresources_up(const std::map<std::string, double>& m) {
  return metric(m, std::string(R"(numainfo_podresources_up{node=")") + node_name + "\"}") == 1.0;
}

// The numbers a person derives from tests/fixtures/podresources/gb200-like and the shape's README.
void check_hand_derived(const json::object& nrt) {
  const auto zones = zones_of(nrt);
  REQUIRE(zones.size() == 34);
  const auto& n0 = zones.at("node-0");
  CHECK(n0.at("cpu") == std::array<std::uint64_t, 3>{72, 70, 54});  // 0-1 reserved; trainer holds 2-17
  CHECK(n0.at("memory")[1] == 476 * GiB);
  CHECK(n0.at("memory")[2] == 412 * GiB);  // 64 GiB to the trainer
  CHECK(n0.at("hugepages-512Mi")[2] == n0.at("hugepages-512Mi")[1] - 2 * GiB);
  CHECK(n0.at("nvidia.com/gpu") == std::array<std::uint64_t, 3>{2, 2, 0});
  const auto& n1 = zones.at("node-1");
  CHECK(n1.at("cpu") == std::array<std::uint64_t, 3>{72, 70, 62});  // 72-73 reserved; server holds 80-87
  CHECK(n1.at("nvidia.com/gpu") == std::array<std::uint64_t, 3>{2, 2, 1});
  // A GPU memory node: no CPUs, its memory all available, no devices of its own.
  const auto& gpu = zones.at("node-2");
  CHECK(gpu.at("cpu") == std::array<std::uint64_t, 3>{0, 0, 0});
  CHECK(gpu.at("memory") == std::array<std::uint64_t, 3>{186 * GiB, 186 * GiB, 186 * GiB});
  CHECK(gpu.count("nvidia.com/gpu") == 0);

  CHECK(nrt.at("apiVersion").as_string() == "topology.node.k8s.io/v1alpha2");
  CHECK(nrt.at("topologyPolicies").as_array()[0].as_string() == "SingleNUMANodePodLevel");
  const auto& attributes = nrt.at("attributes").as_array();
  REQUIRE(attributes.size() == 2);
  CHECK(attributes[0].at("value").as_string() == "single-numa-node");
  CHECK(attributes[1].at("value").as_string() == "pod");
  const auto& owner = nrt.at("metadata").at("ownerReferences").as_array().at(0);
  CHECK(owner.at("kind").as_string() == "Node");
  CHECK(owner.at("uid").as_string() == "node-uid-1");
  // Costs are the kernel's distances: node 0 to itself 10.
  const auto& z0 = nrt.at("zones").as_array()[0];
  CHECK(z0.at("name").as_string() == "node-0");
  CHECK(z0.at("costs").as_array()[0].at("name").as_string() == "node-0");
  CHECK(z0.at("costs").as_array()[0].at("value").to_number<int>() == 10);
}

}  // namespace

TEST_CASE("the NodeResourceTopology object says what /metrics says, and follows the kubelet") {
  Rig rig(true, false);
  auto nrt = rig.agreed(podresources_up);
  check_hand_derived(nrt);
  const auto rv = std::string(nrt.at("metadata").at("resourceVersion").as_string());

  // Someone else writes the object: the agent's next update meets a 409, re-reads and lands.
  auto other = nrt;
  other["metadata"].as_object()["labels"].as_object()["edited-by"] = "someone-else";
  other["metadata"].as_object().erase("resourceVersion");
  REQUIRE(rig.api.upsert(Kind::node_resource_topology, other).has_value());

  // The kubelet lets the server go: its CPUs, memory and GPU on node 1 are available again.
  auto list = FakePodResources::list_from_json(pr_fixture("list.json"));
  list.mutable_pod_resources()->DeleteSubrange(1, 1);
  rig.kubelet.set_list(list);
  const std::string node1_cpus =
      std::string(R"(numainfo_core_count{node=")") + node_name + R"(",numanode="node01",type="allocation"})";
  nrt = rig.agreed([&](const auto& m) { return metric(m, node1_cpus) == 0.0; });
  const auto zones = zones_of(nrt);
  CHECK(zones.at("node-1").at("cpu")[2] == 70);
  CHECK(zones.at("node-1").at("memory")[2] == zones.at("node-1").at("memory")[1]);
  CHECK(zones.at("node-1").at("nvidia.com/gpu")[2] == 2);
  CHECK(zones.at("node-0").at("cpu")[2] == 54);  // the trainer still holds its CPUs
  CHECK(nrt.at("metadata").at("resourceVersion").as_string() != rv);
  CHECK(nrt.at("metadata").at("labels").as_object().count("edited-by") == 0);

  const auto m = rig.metrics();
  CHECK(metric(m, R"(nodepack_agent_nrt_writes_total{result="created"})") == 1.0);
  CHECK(metric(m, R"(nodepack_agent_nrt_writes_total{result="conflict"})") >= 1.0);
  CHECK(metric(m, R"(nodepack_agent_nrt_writes_total{result="updated"})") >= 1.0);
  CHECK(metric(m, R"(nodepack_agent_nrt_writes_total{result="error"})") == 0.0);
  const auto debug = json::parse(http_get(rig.agent->endpoint().port(), "/debug/nrt").body).as_object();
  CHECK(debug.at("topology_manager").at("policy").as_string() == "single-numa-node");
  CHECK(debug.at("last_error").as_string() == "");
}

TEST_CASE("from the checkpoint files alone the object is the same") {
  Rig files(false, true);
  const auto from_files = files.agreed([](const auto& m) {
    return metric(m, std::string(R"(numainfo_checkpoint_valid{file="kubelet_internal_checkpoint",node=")") + node_name +
                         "\"}") == 1.0;
  });
  check_hand_derived(from_files);
  Rig api(true, false);
  const auto from_api = api.agreed(podresources_up);
  CHECK(zones_of(from_files) == zones_of(from_api));
}
