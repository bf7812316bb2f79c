// The simulator's Services and EndpointSlices (sim/workload_services.hpp): one Service per
// Deployment-like workload with a ClusterIP in 10.96.0.0/12, slices of at most 100 endpoints
// listing exactly its running pods' IPs, pod IPs unique among live pods, kept through churn.

#include "sim/cluster.hpp"
#include "sim/workload_services.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <map>
#include <set>

using namespace nodepack::sim;
namespace json = boost::json;

namespace {

std::string str(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

// Checks the stored Services and slices against the stored pods.
void check_services(const FakeApiServer& server) {
  std::map<std::string, std::set<std::string>> want;  // service -> running pods' IPs
  std::set<std::string> live_ips;
  for (const auto& pod : server.objects(Kind::pod)) {
    const auto& status = pod->at("status").as_object();
    const auto ip = str(status, "podIP");
    const auto phase = str(status, "phase");
    if (!ip.empty() && phase != "Succeeded" && phase != "Failed") {
      INFO(ip);
      CHECK(live_ips.insert(ip).second);  // no two live pods share an address
    }
    const auto key = service_key(*pod);
    if (!key.empty() && phase == "Running" && !ip.empty()) {
      want[key].insert(ip);
    }
  }
  std::set<std::string> cluster_ips;
  for (const auto& service : server.objects(Kind::service)) {
    const auto ip = str(service->at("spec").as_object(), "clusterIP");
    CHECK(ip.starts_with("10.96."));
    CHECK(cluster_ips.insert(ip).second);
  }
  std::map<std::string, std::set<std::string>> got;
  for (const auto& slice : server.objects(Kind::endpoint_slice)) {
    const auto& metadata = slice->at("metadata").as_object();
    const auto key =
        str(metadata, "namespace") + "/" + str(metadata.at("labels").as_object(), "kubernetes.io/service-name");
    const auto& endpoints = slice->at("endpoints").as_array();
    CHECK(endpoints.size() <= 100);
    for (const auto& e : endpoints) {
      got[key].insert(std::string(e.at("addresses").as_array().at(0).as_string()));
    }
    CHECK(slice->at("ports").as_array().at(0).at("port").as_int64() == workload_port);
  }
  CHECK(got == want);
  CHECK(server.objects(Kind::service).size() >= want.size());
}

}  // namespace

TEST_CASE("generated workloads get Services and EndpointSlices that follow their pods") {
  FakeApiServer server(FakeApiOptions{});
  ClusterOptions shape;
  shape.nodes = 80;  // over 100 pods for the largest workloads: several slices each
  shape.pods_per_node = 20;
  REQUIRE(load_cluster(server, generate_cluster(shape, 3)).has_value());
  // hello, frontend, api, ledger, gateway, grafana, coredns, redis; not the DaemonSet or the Jobs
  CHECK(server.objects(Kind::service).size() == 8);
  check_services(server);
  std::size_t slices = server.objects(Kind::endpoint_slice).size();
  CHECK(slices > server.objects(Kind::service).size());  // the largest need more than 100 endpoints
  Churner churner(shape, 4);
  for (int i = 0; i < 10; ++i) {
    churner.step(server);
  }
  check_services(server);
}
