// How the agent's NUMA state takes pod-resources' answers and failures: an answer that does not
// fit the machine is refused, a failure falls back to the checkpoint files, and no state is lost.

#include "numa/collector.hpp"
#include "numa/numa_state.hpp"
#include "numa/report.hpp"

#include "tests/support/fixtures.hpp"
#include "tests/support/hwloc_fixture.hpp"

#include <prometheus/text_serializer.h>
#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <sstream>

using namespace nodepack;
using namespace nodepack::numa;
using namespace nodepack::numa::test;
using namespace nodepack::testing;

namespace {

struct Node {
  TempDir tmp;
  std::filesystem::path root = unpack_hwloc_fixture("16em64t-4s2c2t", tmp);  // one node, CPUs 0-15
  ManualClock clock;
  std::unique_ptr<NumaState> state;

  explicit Node(bool with_files) {
    if (with_files) {
      write_file(root / "var/lib/kubelet/memory_manager_state",
                 kubelet_fixture("memory_manager_state.k8s-unittest.v1.json"));
    }
    NumaOptions opts;
    opts.paths = HostPaths::under(root);
    opts.node_name = "n";
    opts.podresources_socket = "/run/test/kubelet.sock";
    state = std::make_unique<NumaState>(opts, clock);
    REQUIRE(state->load_topology().has_value());
    state->refresh();
  }
};

PodResourcesAnswer pinned(CpuSet cpus, std::vector<int> memory_nodes = {0}) {
  PodResourcesAnswer a;
  ContainerResources c;
  c.pod_namespace = "default";
  c.pod_name = "pinned";
  c.container = "app";
  c.cpus = std::move(cpus);
  c.memory.push_back(MemoryBlock{std::move(memory_nodes), "memory", 1024});
  a.containers.push_back(std::move(c));
  return a;
}

std::string metrics_of(const NumaState& state) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, NumaCollector(state, {}).Collect());
  return out.str();
}

}  // namespace

TEST_CASE("before any answer the source is waiting, and the checkpoints count") {
  Node node(true);
  const auto snap = node.state->snapshot();
  CHECK(snap->podresources.status == "waiting");
  CHECK(snap->model.placements_source == ValueSource::checkpoint);
  CHECK(snap->model.nodes[0].memory.allocation == 512);
  const auto text = metrics_of(*node.state);
  CHECK(text.find("numainfo_podresources_up{node=\"n\"} 0\n") != std::string::npos);
  CHECK(text.find("numainfo_source_mismatch{") == std::string::npos);  // nothing to compare yet
}

TEST_CASE("an answer naming CPUs or NUMA nodes the machine lacks is refused; the last good stays") {
  Node node(false);
  node.state->podresources_answered(pinned(CpuSet{2, 3}));
  REQUIRE(node.state->snapshot()->podresources.status == "ok");
  CHECK(node.state->snapshot()->model.nodes[0].exclusive_cpus == CpuSet{2, 3});

  node.clock.advance(std::chrono::seconds(10));
  node.state->podresources_answered(pinned(CpuSet{2, 40}));
  auto snap = node.state->snapshot();
  CHECK(snap->podresources.status == "failing");
  CHECK(snap->podresources.reason == "bad_answer");
  CHECK(snap->podresources.detail ==
        "the answer does not fit: container default/pinned/app names CPUs 40, which this machine does not have (0-15)");
  // No checkpoint file says anything: the last good answer is still the account in use.
  CHECK(snap->model.placements_source == ValueSource::podresources);
  CHECK(snap->model.nodes[0].exclusive_cpus == CpuSet{2, 3});
  CHECK(snap->model.check.not_compared_because == "pod-resources is failing: its last good answer is used");

  node.state->podresources_answered(pinned(CpuSet{4}, {3}));
  snap = node.state->snapshot();
  CHECK(snap->podresources.detail.find("puts memory on NUMA node 3, which this machine does not have") !=
        std::string::npos);
  CHECK(snap->podresources.errors_total.at("bad_answer") == 2);
  CHECK(metrics_of(*node.state).find("numainfo_podresources_errors_total{node=\"n\",reason=\"bad_answer\"} 2\n") !=
        std::string::npos);
}

TEST_CASE("pod-resources failing: the checkpoint files are the account, and /debug/numa says why") {
  Node node(true);
  node.state->podresources_answered(pinned(CpuSet{5}));
  CHECK(node.state->snapshot()->model.placements_source == ValueSource::podresources);
  node.state->podresources_failed({PodResourcesError::no_socket, "/run/test/kubelet.sock: No such file or directory"});
  const auto snap = node.state->snapshot();
  CHECK(snap->model.placements_source == ValueSource::checkpoint);
  CHECK(snap->model.nodes[0].exclusive_cpus.empty());  // no cpu_manager_state: policy none
  CHECK(snap->model.nodes[0].memory.allocation == 512);
  const auto debug = numa_debug_json(*snap);
  const auto& pr = debug.at("podresources");
  CHECK(pr.at("status").as_string() == "failing");
  CHECK(pr.at("reason").as_string() == "no_socket");
  CHECK(pr.at("socket").as_string() == "/run/test/kubelet.sock");
  CHECK(pr.at("errors_total").at("no_socket").to_number<int>() == 1);
  CHECK(pr.at("last_success").is_string());
  CHECK(debug.at("value_sources").at("memory/allocation").as_string() == "checkpoint");
  CHECK(debug.at("placements_source").as_string() == "checkpoint");
}
