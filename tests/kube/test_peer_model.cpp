// The cluster peer directory's model (kube/peers/): real-shaped Pod, Service and EndpointSlice
// JSON (tests/kube/peers/) through the reflector sinks, and lookups by address.

#include "kube/peers/peer_model.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

using namespace nodepack::kube;
using namespace nodepack::kube::peers;
namespace json = boost::json;
using boost::asio::ip::make_address;

namespace {

json::value fixture(const std::string& name) {
  std::ifstream in(std::string(NODEPACK_SOURCE_DIR) + "/tests/kube/peers/" + name);
  REQUIRE(in);
  std::stringstream text;
  text << in.rdbuf();
  return json::parse(text.str());
}

// A bare pod: namespace, name, IPs, optional owner.
json::value pod(const std::string& ns, const std::string& name, const json::array& ips, std::string phase = "Running") {
  json::array pod_ips;
  for (const auto& ip : ips) {
    pod_ips.push_back(json::object{{"ip", ip}});
  }
  json::object status{{"phase", phase}, {"podIPs", pod_ips}};
  if (!ips.empty()) {
    status["podIP"] = ips.front();
  }
  return json::object{{"metadata", {{"namespace", ns}, {"name", name}}}, {"status", status}};
}

PeerName pod_name(std::string ns, std::string workload, std::string name) {
  return PeerName{PeerKind::pod, std::move(ns), std::move(workload), std::move(name)};
}
PeerName service_name(std::string ns, std::string name) {
  return PeerName{PeerKind::service, std::move(ns), name, name};
}

}  // namespace

TEST_CASE("a pod's IPs, both families, name it and its Deployment") {
  PeerModel model;
  REQUIRE(model.pod_sink().replace({fixture("pod_web.json")}));
  const auto expected = pod_name("shop", "web", "web-7c9d5f6b8-x2k4p");
  CHECK(model.owner_of(make_address("10.244.1.17")) == expected);
  CHECK(model.owner_of(make_address("fd00:10:244:1::11")) == expected);
  CHECK(model.owner_of(make_address("10.244.1.18")) == std::nullopt);
  // An IPv4 address and its IPv4-mapped IPv6 form are the same peer (a dual-stack socket sees the latter).
  CHECK(model.owner_of(make_address("::ffff:10.244.1.17")) == expected);
  CHECK(model.counts().pods == 1);
  CHECK(model.counts().pod_addresses == 2);
}

TEST_CASE("a hostNetwork pod does not claim its node's IP") {
  PeerModel model;
  REQUIRE(model.pod_sink().replace({fixture("pod_host_network.json"), fixture("pod_web.json")}));
  CHECK(model.owner_of(make_address("192.168.1.10")) == std::nullopt);
  CHECK(model.counts().pods == 1);
  // Nor does one that turns hostNetwork on an update drop its old claim only partly: it holds none.
  auto web = fixture("pod_web.json");
  web.as_object()["spec"].as_object()["hostNetwork"] = true;
  REQUIRE(model.pod_sink().apply(WatchEventType::modified, web));
  CHECK(model.owner_of(make_address("10.244.1.17")) == std::nullopt);
  CHECK(model.counts().pods == 0);
}

TEST_CASE("a deleted or finished pod releases its address; a reused IP names its new pod") {
  PeerModel model;
  REQUIRE(model.pod_sink().replace({pod("a", "old", {"10.0.0.5"}), pod("a", "other", {"10.0.0.6"})}));
  CHECK(model.owner_of(make_address("10.0.0.5")) == pod_name("a", "old", "old"));

  SECTION("deleted, from a tombstone that carries only metadata") {
    json::value tombstone = json::object{{"metadata", {{"namespace", "a"}, {"name", "old"}}}};
    REQUIRE(model.pod_sink().apply(WatchEventType::deleted, tombstone));
    CHECK(model.owner_of(make_address("10.0.0.5")) == std::nullopt);
    CHECK(model.owner_of(make_address("10.0.0.6")) == pod_name("a", "other", "other"));
    CHECK(model.counts().pods == 1);
  }
  SECTION("finished: a Succeeded pod's IP is free") {
    REQUIRE(model.pod_sink().apply(WatchEventType::modified, pod("a", "old", {"10.0.0.5"}, "Succeeded")));
    CHECK(model.owner_of(make_address("10.0.0.5")) == std::nullopt);
  }
  SECTION("reused before the old pod's DELETED arrives: the newest claim wins, and stays") {
    REQUIRE(model.pod_sink().apply(WatchEventType::added, pod("b", "new", {"10.0.0.5"})));
    CHECK(model.owner_of(make_address("10.0.0.5")) == pod_name("b", "new", "new"));
    REQUIRE(model.pod_sink().apply(WatchEventType::deleted, pod("a", "old", {"10.0.0.5"})));
    CHECK(model.owner_of(make_address("10.0.0.5")) == pod_name("b", "new", "new"));
  }
  SECTION("a relist replaces everything, page by page") {
    auto& sink = model.pod_sink();
    sink.begin_pages();
    REQUIRE(sink.add_page({pod("a", "p1", {"10.0.1.1"})}));
    // Until the list completes, lookups see the old state.
    CHECK(model.owner_of(make_address("10.0.0.5")) == pod_name("a", "old", "old"));
    REQUIRE(sink.add_page({pod("a", "p2", {"10.0.1.2"})}));
    REQUIRE(sink.finish_pages());
    CHECK(model.owner_of(make_address("10.0.0.5")) == std::nullopt);
    CHECK(model.owner_of(make_address("10.0.1.2")) == pod_name("a", "p2", "p2"));
    CHECK(model.counts().pods == 2);
    CHECK(model.counts().names == 3);  // namespace "a" once, and the two pods' own names as workloads
  }
}

TEST_CASE("names no peer uses any more are freed") {
  PeerModel model;
  REQUIRE(model.pod_sink().replace({pod("ns1", "p1", {"10.0.0.1"}), pod("ns2", "p2", {"10.0.0.2"})}));
  CHECK(model.counts().names == 4);
  REQUIRE(model.pod_sink().apply(WatchEventType::deleted, pod("ns1", "p1", {})));
  CHECK(model.counts().names == 2);
  REQUIRE(model.pod_sink().replace({}));
  CHECK(model.counts().names == 0);
}

TEST_CASE("a Service's ClusterIPs name it; a headless Service claims nothing; pods win over Services") {
  PeerModel model;
  REQUIRE(model.service_sink().replace({fixture("service_web.json"), fixture("service_headless.json")}));
  CHECK(model.owner_of(make_address("10.96.12.34")) == service_name("shop", "web"));
  CHECK(model.owner_of(make_address("fd00:10:96::c22")) == service_name("shop", "web"));
  CHECK(model.counts().services == 1);
  REQUIRE(model.service_sink().apply(WatchEventType::deleted, fixture("service_web.json")));
  CHECK(model.owner_of(make_address("10.96.12.34")) == std::nullopt);
}

TEST_CASE("service_of: the Service whose EndpointSlices list a pod address, port-aware") {
  PeerModel model;
  REQUIRE(model.slice_sink().replace({fixture("endpointslice_web.json")}));
  CHECK(model.service_of(make_address("10.244.1.17"), 8080) == service_name("shop", "web"));
  CHECK(model.service_of(make_address("10.244.1.17"), 0) == service_name("shop", "web"));  // any port
  CHECK(model.service_of(make_address("10.244.1.17"), 9090) == std::nullopt);
  // A terminating endpoint is still what its connections were meant for.
  CHECK(model.service_of(make_address("10.244.2.9"), 8080) == service_name("shop", "web"));
  CHECK(model.service_of(make_address("10.244.3.1"), 8080) == std::nullopt);
  CHECK(model.counts().slice_addresses == 2);

  SECTION("two Services select the same pod: the port picks, then the first by name") {
    json::value metrics = fixture("endpointslice_web.json");
    auto& o = metrics.as_object();
    o["metadata"].as_object()["name"] = "web-metrics-zz9";
    o["metadata"].as_object()["labels"].as_object()["kubernetes.io/service-name"] = "a-metrics";
    o["ports"] = json::array{json::object{{"name", "metrics"}, {"port", 9090}}};
    REQUIRE(model.slice_sink().apply(WatchEventType::added, metrics));
    CHECK(model.service_of(make_address("10.244.1.17"), 9090) == service_name("shop", "a-metrics"));
    CHECK(model.service_of(make_address("10.244.1.17"), 8080) == service_name("shop", "web"));
    CHECK(model.service_of(make_address("10.244.1.17"), 0) == service_name("shop", "a-metrics"));
    REQUIRE(model.slice_sink().apply(WatchEventType::deleted, metrics));
    CHECK(model.service_of(make_address("10.244.1.17"), 9090) == std::nullopt);
    CHECK(model.service_of(make_address("10.244.1.17"), 8080) == service_name("shop", "web"));
  }
  SECTION("a port left unset serves every port") {
    json::value all = fixture("endpointslice_web.json");
    all.as_object()["ports"] = json::array{json::object{{"name", ""}, {"protocol", "TCP"}}};
    REQUIRE(model.slice_sink().apply(WatchEventType::modified, all));
    CHECK(model.service_of(make_address("10.244.1.17"), 12345) == service_name("shop", "web"));
  }
  SECTION("an endpoint leaving the slice is no longer the Service's") {
    json::value fewer = fixture("endpointslice_web.json");
    fewer.as_object()["endpoints"].as_array().pop_back();
    REQUIRE(model.slice_sink().apply(WatchEventType::modified, fewer));
    CHECK(model.service_of(make_address("10.244.2.9"), 8080) == std::nullopt);
    CHECK(model.counts().slice_addresses == 1);
  }
}

TEST_CASE("a slice without the service-name label is not kept") {
  PeerModel model;
  json::value orphan = fixture("endpointslice_web.json");
  orphan.as_object()["metadata"].as_object().erase("labels");
  REQUIRE(model.slice_sink().replace({orphan}));
  CHECK(model.service_of(make_address("10.244.1.17"), 0) == std::nullopt);
  CHECK(model.counts().slices == 0);
}

TEST_CASE("peer digests: workloads, and what does not parse") {
  const auto web = parse_pod_digest(fixture("pod_web.json"));
  REQUIRE(web.has_value());
  CHECK(web->workload == "web");  // ReplicaSet web-7c9d5f6b8 with pod-template-hash 7c9d5f6b8
  const auto ds = parse_pod_digest(fixture("pod_host_network.json"));
  REQUIRE(ds.has_value());
  CHECK(ds->workload == "kube-proxy");
  CHECK(ds->addresses.empty());
  json::value cron = pod("batch", "backup-28913760-abcde", {"10.0.0.9"});
  cron.as_object()["metadata"].as_object()["ownerReferences"] =
      json::array{json::object{{"kind", "Job"}, {"name", "backup-28913760"}}};
  CHECK(parse_pod_digest(cron)->workload == "backup");
  // A ReplicaSet whose pod has no pod-template-hash is named as it is.
  json::value rs = pod("a", "rs-xyz", {"10.0.0.8"});
  rs.as_object()["metadata"].as_object()["ownerReferences"] =
      json::array{json::object{{"kind", "ReplicaSet"}, {"name", "rs"}}};
  CHECK(parse_pod_digest(rs)->workload == "rs");

  CHECK_FALSE(parse_pod_digest(json::parse(R"({"metadata":{"namespace":"a"}})")).has_value());
  CHECK_FALSE(parse_service_digest(json::parse("[]")).has_value());
  // One bad item costs only itself: the rest of the list is kept and the error is reported.
  PeerModel model;
  const auto listed = model.pod_sink().replace({json::parse(R"({"kind":"Pod"})"), pod("a", "ok", {"10.0.0.1"})});
  CHECK_FALSE(listed.has_value());
  CHECK(model.owner_of(make_address("10.0.0.1")) == pod_name("a", "ok", "ok"));
  // Garbage addresses are skipped, not fatal.
  CHECK(parse_pod_digest(pod("a", "b", {"not-an-ip", "10.0.0.2"}))->addresses.size() == 1);
}
