// The agent's peer directory against the simulated API server: its three cluster-wide watches
// over a generated cluster (pods with unique IPs, a Service per Deployment-like workload, its
// EndpointSlices) name every pod IP and ClusterIP as the stored objects say, and stay right
// while the simulator churns pods. And when the agent builds the directory at all.

#include "agent/agent_options.hpp"
#include "agent/kernel_backend.hpp"
#include "agent/peer_watch.hpp"
#include "sim/cluster.hpp"
#include "sim/fake_api_server.hpp"
#include "sim/workload_services.hpp"
#include "tests/support/eventually.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <algorithm>

#include <thread>

using namespace nodepack;
using nodepack::sim::Kind;
using nodepack::testing::eventually;
namespace json = boost::json;
using boost::asio::ip::make_address;

namespace {

std::string at(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

// Every answer the directory should give for the stored objects, checked; the first mismatch as text.
std::string mismatch(const sim::FakeApiServer& api, const agent::PeerWatch& peers) {
  std::size_t pods = 0;
  for (const auto& pod : api.objects(Kind::pod)) {
    const auto& metadata = pod->at("metadata").as_object();
    const auto& status = pod->at("status").as_object();
    const auto ip = at(status, "podIP");
    const auto phase = at(status, "phase");
    const auto* spec = pod->at("spec").as_object().if_contains("hostNetwork");
    if (ip.empty() || phase == "Succeeded" || phase == "Failed" || (spec != nullptr && spec->as_bool())) {
      continue;
    }
    ++pods;
    const auto owner = peers.owner_of(make_address(ip));
    if (!owner || owner->kind != kpod::PeerKind::pod || owner->namespace_name != at(metadata, "namespace") ||
        owner->name != at(metadata, "name")) {
      return "pod " + at(metadata, "name") + " at " + ip;
    }
    const auto* labels = metadata.if_contains("labels");
    if (labels != nullptr && labels->as_object().contains("pod-template-hash") &&
        owner->workload != at(labels->as_object(), "app")) {
      return "workload of " + owner->name + " is " + owner->workload;
    }
    const auto service = sim::service_key(*pod);
    const auto meant = peers.service_of(make_address(ip), sim::workload_port);
    if (!service.empty() && phase == "Running" &&
        (!meant || meant->namespace_name + "/" + meant->name != service || meant->kind != kpod::PeerKind::service)) {
      return "service of " + owner->name + " at " + ip;
    }
    if (peers.service_of(make_address(ip), sim::workload_port + 1)) {
      return "a Service on another port for " + ip;
    }
  }
  for (const auto& service : api.objects(Kind::service)) {
    const auto& metadata = service->at("metadata").as_object();
    const auto ip = at(service->at("spec").as_object(), "clusterIP");
    const auto owner = peers.owner_of(make_address(ip));
    if (!owner || owner->kind != kpod::PeerKind::service || owner->name != at(metadata, "name")) {
      return "service " + at(metadata, "name") + " at " + ip;
    }
  }
  if (peers.model().counts().pods != pods) {
    return "directory holds " + std::to_string(peers.model().counts().pods) + " pods, not " + std::to_string(pods);
  }
  return {};
}

}  // namespace

TEST_CASE("the peer directory names every pod IP, ClusterIP and endpoint of a simulated cluster, through churn") {
  sim::FakeApiServer api(sim::FakeApiOptions{"secret", 1000, std::chrono::milliseconds(60'000), 1, {}});
  REQUIRE(api.start().has_value());
  sim::ClusterOptions shape;
  shape.nodes = 6;
  shape.pods_per_node = 12;
  REQUIRE(sim::load_cluster(api, sim::generate_cluster(shape, 11)).has_value());
  REQUIRE(api.objects(Kind::service).size() >= 5);
  REQUIRE(!api.objects(Kind::endpoint_slice).empty());

  ManualClock clock;
  kube::ClusterConfig cluster;
  cluster.server = api.url();
  cluster.token = "secret";
  auto client = kube::ApiClient::create(cluster, clock);
  REQUIRE(client.has_value());
  kube::ReflectorOptions base;
  base.page_size = 20;  // several pages per list
  base.initial_backoff = std::chrono::milliseconds(10);
  base.max_backoff = std::chrono::milliseconds(100);
  base.min_watch_timeout = std::chrono::seconds(3600);
  agent::PeerWatch peers(**client, base, clock);
  boost::asio::io_context io;
  peers.spawn(io);
  std::thread thread([&] { io.run(); });
  struct Joined {  // also when a REQUIRE throws
    boost::asio::io_context& io;
    std::thread& thread;
    ~Joined() {
      io.stop();
      thread.join();
    }
  } joined{io, thread};

  const auto synced = [&] {
    for (const auto* r : peers.reflectors()) {
      if (!r->status().synced) {
        return false;
      }
    }
    return true;
  };
  CHECK(eventually(synced));
  CHECK(eventually([&] { return mismatch(api, peers).empty(); }));
  INFO(mismatch(api, peers));
  CHECK(mismatch(api, peers).empty());
  // A hostNetwork pod (kube-proxy's kind) shares its node's IP and must not claim it.
  const auto host = api.upsert(Kind::pod, json::parse(R"({"metadata":{"namespace":"kube-system","name":"kube-proxy-a"},
      "spec":{"nodeName":"sim-node-0","hostNetwork":true},
      "status":{"phase":"Running","podIP":"10.1.0.1"}})")
                                              .as_object());
  INFO((host ? std::string() : host.error().message));
  REQUIRE(host.has_value());
  // An unrelated pod after it, so that once it is seen the hostNetwork one was too.
  REQUIRE(api.upsert(Kind::pod, json::parse(R"({"metadata":{"namespace":"default","name":"marker"},"spec":{},
      "status":{"phase":"Running","podIP":"10.250.0.1"}})")
                                    .as_object())
              .has_value());
  CHECK(eventually([&] { return peers.owner_of(make_address("10.250.0.1")).has_value(); }));
  CHECK_FALSE(peers.owner_of(make_address("10.1.0.1")).has_value());

  // The churner knows only the pods it generates.
  REQUIRE(api.remove(Kind::pod, "kube-system", "kube-proxy-a"));
  REQUIRE(api.remove(Kind::pod, "default", "marker"));
  CHECK(eventually([&] { return !peers.owner_of(make_address("10.250.0.1")).has_value(); }));
  sim::Churner churner(shape, 12);
  for (int i = 0; i < 5; ++i) {
    churner.step(api);
  }
  CHECK(eventually([&] { return mismatch(api, peers).empty(); }));
  INFO(mismatch(api, peers));
  CHECK(mismatch(api, peers).empty());
}

TEST_CASE("the agent watches peers only when the topology collector runs") {
  const auto enabled = [](std::vector<std::string> flags) {
    flags.push_back("--node-name=n1");
    auto options = agent::parse_agent_options(flags, "");
    REQUIRE(options.has_value());
    return agent::topology_enabled(*options);
  };
  const auto specs = agent::kernel_collector_specs();
  if (std::none_of(specs.begin(), specs.end(), [](const auto& s) { return s.name == "topology"; })) {
    // A build without BPF has no topology collector (nor its flag): nothing ever names peers.
    CHECK_FALSE(enabled({}));
    CHECK_FALSE(enabled({"--profile=comprehensive"}));
    return;
  }
  CHECK_FALSE(enabled({}));  // standard profile
  CHECK(enabled({"--profile=comprehensive"}));
  CHECK_FALSE(enabled({"--profile=comprehensive", "--collectors.bpf=false"}));
  // The override of the topology collector itself, either way, decides over the profile.
  CHECK(enabled({"--collector.topology=true"}));
  CHECK_FALSE(enabled({"--profile=comprehensive", "--collector.topology=false"}));
  CHECK_FALSE(enabled({"--collector.dns=true"}));  // another collector alone does not name peers
}
