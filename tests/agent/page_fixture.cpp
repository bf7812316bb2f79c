// An agent over a small fixed node, for the browser test of its page: an 8-NUMA-node host (hwloc's
// 16amd64-8n2c: NUMA node k holds CPUs 2k and 2k+1), a kubelet CPU manager checkpoint pinning the
// Guaranteed pod's container to CPUs 1 and 13 (with the kubelet's checksum), and four pods served
// by the fake API server. Prints "port=N" once the pods are counted, then serves until SIGTERM.
//
// Values the page must show: cpu requested 2 + 0.5 + 0.1 = 2.6 of 16 cores = 16.3%; memory
// 1Gi + 512Mi + 128Mi of 64Gi = 2.5%; pods 3 of 110; the Succeeded pod "done" does not count;
// CPUs 1 and 13 exclusive to default/pinned/app, every other CPU in the shared pool.

#include "agent/agent.hpp"
#include "common/stop_signals.hpp"
#include "numa/checkpoint.hpp"
#include "sim/fake_api_server.hpp"
#include "tests/support/hwloc_fixture.hpp"

#include <boost/json.hpp>

#include <fstream>
#include <iostream>

using namespace nodepack;
namespace json = boost::json;

namespace {

constexpr const char* pinned_uid = "235148fe-393f-47a8-a17d-bd55bc1a836b";

json::object pod(const std::string& name, const std::string& uid, const std::string& phase, const std::string& cpu,
                 const std::string& memory, bool guaranteed, bool daemonset = false) {
  json::object resources{{"requests", {{"cpu", cpu}, {"memory", memory}}}};
  if (guaranteed) {
    resources["limits"] = {{"cpu", cpu}, {"memory", memory}};
  }
  json::object metadata{{"name", name}, {"namespace", daemonset ? "nodepack" : "default"}, {"uid", uid}};
  if (daemonset) {
    metadata["ownerReferences"] = json::array{{{"kind", "DaemonSet"}, {"name", "agent"}, {"controller", true}}};
  }
  return json::object{
      {"metadata", std::move(metadata)},
      {"spec", {{"nodeName", "n1"}, {"containers", json::array{{{"name", "app"}, {"resources", resources}}}}}},
      {"status", {{"phase", phase}}}};
}

// The checkpoint with the checksum the kubelet's v2 layout gives it: the agent refuses any other.
std::string cpu_manager_state() {
  std::string text = std::string(R"({"policyName":"static","defaultCpuSet":"0,2-12,14-15","entries":{")") + pinned_uid +
                     R"(":{"app":"1,13"}},"checksum":1})";
  auto parsed = numa::parse_cpu_manager_state(text);
  if (!parsed) {
    return {};
  }
  const auto& check = parsed->checksum;
  for (std::size_t i = 0; i < check.tried.size(); ++i) {
    if (check.tried[i] == "v2") {
      text.replace(text.rfind('1'), 1, std::to_string(check.computed.at(i)));
      return text;
    }
  }
  return {};
}

}  // namespace

int main() {
  StopSignals signals;  // before any thread starts

  testing::TempDir host;
  const auto root = numa::test::unpack_hwloc_fixture("16amd64-8n2c", host);
  testing::TempDir kubelet;
  const auto checkpoint = cpu_manager_state();
  if (checkpoint.empty()) {
    std::cerr << "page fixture: cannot give the checkpoint the kubelet's checksum\n";
    return 1;
  }
  std::ofstream(kubelet.path() / "cpu_manager_state") << checkpoint;

  sim::FakeApiServer api;
  if (!api.start()) {
    std::cerr << "page fixture: fake API server did not start\n";
    return 1;
  }
  api.upsert(sim::Kind::node,
             json::object{{"metadata", {{"name", "n1"}}},
                          {"status", {{"allocatable", {{"cpu", "16"}, {"memory", "64Gi"}, {"pods", "110"}}}}}});
  api.upsert(sim::Kind::pod, pod("pinned", pinned_uid, "Running", "2", "1Gi", true));
  api.upsert(sim::Kind::pod, pod("web-0", "u-web", "Running", "500m", "512Mi", false));
  api.upsert(sim::Kind::pod, pod("agent-n1", "u-ds", "Running", "100m", "128Mi", false, true));
  api.upsert(sim::Kind::pod, pod("done", "u-done", "Succeeded", "1", "1Gi", false));

  auto options = agent::parse_agent_options(
      {"--node-name=n1", "--metrics-addr=127.0.0.1:0", "--host-root=" + root.string(),
       "--kubelet-root=" + kubelet.path().string(), "--collectors.bpf=false", "--auth.mode=none"},
      "");
  if (!options) {
    std::cerr << "page fixture: " << options.error().message << "\n";
    return 1;
  }
  kube::ClusterConfig cluster;
  cluster.server = api.url();
  agent::Agent agent(std::move(*options), cluster, SystemClock::instance());
  if (auto started = agent.start(); !started) {
    std::cerr << "page fixture: " << started.error().message << "\n";
    return 1;
  }
  while (!agent.ready()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::cout << "port=" << agent.endpoint().port() << std::endl;
  signals.wait();
  agent.stop();
  return 0;
}
