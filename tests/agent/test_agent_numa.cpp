// The agent's NUMA side end to end: an hwloc sysfs dump as the host, a kubelet CPU manager
// checkpoint (the kubelet fixture's content on this host's 16 CPUs, with the kubelet's checksum),
// and the pod it names served by the fake API server.

#include "agent/agent.hpp"
#include "agent/numa_source.hpp"
#include "numa/checkpoint.hpp"
#include "sim/fake_api_server.hpp"
#include "tests/sim/test_client.hpp"
#include "tests/support/eventually.hpp"
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
using nodepack::testing::metric;
using nodepack::testing::parse_metrics;
namespace json = boost::json;

namespace {

// The kubelet's checkpoint pins container "cgroup1-0" of this pod to CPUs 1 and 13.
constexpr const char* pinned_uid = "235148fe-393f-47a8-a17d-bd55bc1a836b";

json::object guaranteed_pod() {
  return json::parse(std::string(R"({"metadata":{"name":"pinned","namespace":"default","uid":")") + pinned_uid +
                     R"("},"spec":{"nodeName":"n1","containers":[{"name":"cgroup1-0","resources":{
       "requests":{"cpu":"2","memory":"1Gi"},"limits":{"cpu":"2","memory":"1Gi"}}}]},"status":{"phase":"Running"}})")
      .as_object();
}

}  // namespace

TEST_CASE("is_guaranteed follows the kubelet's QoS rule") {
  auto pod = kube::parse_pod(json::value(guaranteed_pod()));
  REQUIRE(pod.has_value());
  CHECK(pod->is_guaranteed());
  auto burstable = *pod;
  burstable.containers[0].requests["cpu"] = *kube::Quantity::parse("1");
  CHECK_FALSE(burstable.is_guaranteed());
  auto no_limits = *pod;
  no_limits.containers[0].limits.clear();
  CHECK_FALSE(no_limits.is_guaranteed());
}

TEST_CASE("agent exports NUMA capacity and kubelet allocation for a multi-NUMA host") {
  testing::TempDir host;
  const auto root = numa::test::unpack_hwloc_fixture("16amd64-8n2c", host);
  nodepack::testing::TempDir kubelet;
  // cpu_manager_state.static.24cpu-ht-pair.v2.json names CPUs up to 23: refused on a 16-CPU host.
  testing::write_file(
      kubelet.path() / "cpu_manager_state",
      testing::with_kubelet_checksum(
          R"({"policyName":"static","defaultCpuSet":"0,2-12,14-15","entries":{"235148fe-393f-47a8-a17d-bd55bc1a836b":{"cgroup1-0":"1,13"}},"checksum":0})",
          [](std::string_view t) { return numa::parse_cpu_manager_state(t); }, "v2"));

  sim::FakeApiServer api;
  REQUIRE(api.start().has_value());
  REQUIRE(api.upsert(Kind::node,
                     json::parse(R"({"metadata":{"name":"n1"},"status":{"allocatable":{"cpu":"16"}}})").as_object())
              .has_value());
  REQUIRE(api.upsert(Kind::pod, guaranteed_pod()).has_value());

  auto options = agent::parse_agent_options(
      {"--node-name=n1", "--metrics-addr=127.0.0.1:0", "--host-root=" + root.string(),
       "--kubelet-root=" + kubelet.path().string(), "--collectors.bpf=false", "--auth.mode=none"},
      "");
  REQUIRE(options.has_value());
  kube::ClusterConfig cluster;
  cluster.server = api.url();
  agent::Agent agent(std::move(*options), cluster, SystemClock::instance());
  REQUIRE(agent.start().has_value());
  const auto port = agent.endpoint().port();
  const std::string aligned =
      R"(numainfo_container_aligned{container="cgroup1-0",namespace="default",node="n1",pod="pinned"})";
  REQUIRE(eventually([&] { return metric(parse_metrics(http_get(port, "/metrics").body), aligned).has_value(); }));

  const auto m = parse_metrics(http_get(port, "/metrics").body);
  CHECK(*metric(m, R"(numainfo_node_count{node="n1"})") == 8);
  // 16amd64-8n2c: NUMA node k holds CPUs 2k and 2k+1.
  for (int k = 0; k < 8; ++k) {
    const std::string numanode = "node0" + std::to_string(k);
    INFO(numanode);
    CHECK(*metric(m, R"(numainfo_core_count{node="n1",numanode=")" + numanode + R"(",type="capacity"})") == 2);
    // CPU 1 is on node 0 and CPU 13 on node 6: one exclusive CPU each, nothing elsewhere.
    const double expected = (k == 0 || k == 6) ? 1 : 0;
    CHECK(*metric(m, R"(numainfo_core_count{node="n1",numanode=")" + numanode + R"(",type="allocation"})") == expected);
  }
  // Split across NUMA nodes 0 and 6: not aligned.
  CHECK(*metric(m, aligned) == 0);
  CHECK(*metric(m, R"(numainfo_checkpoint_valid{file="cpu_manager_state",node="n1"})") == 1);

  const auto report = json::parse(http_get(port, "/report").body).as_object();
  CHECK(report.at("numa_zones").as_array().size() == 8);
  const auto debug = http_get(port, "/debug/numa");
  CHECK(debug.status == 200);
  CHECK(debug.body.find("cgroup1-0") != std::string::npos);
  agent.stop();
}
