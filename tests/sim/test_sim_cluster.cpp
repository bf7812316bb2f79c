// The simulated cluster as a cluster: pods bound only where they fit (the generator and the
// churner), Pending with the scheduler's reason otherwise; the API's writes (create, update with
// optimistic concurrency, delete) for every kind, discovery of the groups, kubectl's Tables, and
// the token and access reviews a node agent asks.

#include "kube/node.hpp"
#include "kube/pod.hpp"
#include "kube/pod_requests.hpp"
#include "sim/cluster.hpp"
#include "sim/fake_api_server.hpp"
#include "sim/scheduler.hpp"
#include "sim/tables.hpp"
#include "test_client.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <map>

using nodepack::sim::FakeApiOptions;
using nodepack::sim::FakeApiServer;
using nodepack::sim::Kind;
using nodepack::sim::test::http_get;
using nodepack::sim::test::http_send;
namespace json = boost::json;
namespace kube = nodepack::kube;
namespace bhttp = boost::beast::http;

namespace {

struct Started {
  explicit Started(FakeApiOptions options = {}) : server(std::move(options)) {
    REQUIRE(server.start("127.0.0.1:0").has_value());
  }
  std::uint16_t port() const { return server.port(); }
  FakeApiServer server;
};

// Per node: what the counted pods request, as the scheduler sums it, and the node's allocatable.
struct Books {
  std::map<std::string, kube::ResourceList> held;
  std::map<std::string, int> pods;
  std::map<std::string, kube::ResourceList> allocatable;
  int pending = 0;
  std::vector<std::string> pending_messages;
};

Books books(const std::vector<json::object>& nodes, const std::vector<json::object>& pods) {
  Books b;
  for (const auto& n : nodes) {
    auto node = kube::parse_node(n);
    REQUIRE(node.has_value());
    b.allocatable[node->name] = node->allocatable;
  }
  for (const auto& p : pods) {
    auto pod = kube::parse_pod(p);
    REQUIRE(pod.has_value());
    if (pod->node_name.empty()) {
      ++b.pending;
      for (const auto& c : p.at("status").as_object().at("conditions").as_array()) {
        if (c.at("type").as_string() == "PodScheduled") {
          b.pending_messages.emplace_back(c.at("message").as_string());
        }
      }
      continue;
    }
    if (!kube::pod_counts_toward_node(*pod)) {
      continue;
    }
    kube::add_into(b.held[pod->node_name], kube::compute_pod_requests(*pod).requests);
    ++b.pods[pod->node_name];
  }
  return b;
}

void check_no_overcommit(const Books& b) {
  for (const auto& [node, held] : b.held) {
    const auto& allocatable = b.allocatable.at(node);
    for (const auto& [resource, q] : held) {
      const auto a = allocatable.find(resource);
      const kube::Quantity cap = a == allocatable.end() ? kube::Quantity() : a->second;
      INFO(node << " " << resource << ": " << q.to_string() << " of " << cap.to_string());
      CHECK(q.nanos() <= cap.nanos());
    }
    CHECK(b.pods.at(node) <= b.allocatable.at(node).at("pods").value_ceil());
  }
}

std::vector<json::object> objects(const FakeApiServer& server, Kind kind) {
  std::vector<json::object> out;
  for (const auto& o : server.objects(kind)) {
    out.push_back(*o);
  }
  return out;
}

double cpu_share(const Books& b) {
  double held = 0;
  double allocatable = 0;
  for (const auto& [node, list] : b.allocatable) {
    allocatable += list.at("cpu").as_double();
    if (auto it = b.held.find(node); it != b.held.end() && it->second.count("cpu") != 0) {
      held += it->second.at("cpu").as_double();
    }
  }
  return held / allocatable;
}

}  // namespace

TEST_CASE("the generated cluster binds pods only where they fit and leaves the rest Pending with the reason") {
  for (std::uint64_t seed : {1, 2, 3, 42}) {
    INFO("seed " << seed);
    const auto cluster = nodepack::sim::generate_cluster({3, 12}, seed);
    const auto b = books(cluster.nodes, cluster.pods);
    check_no_overcommit(b);
    REQUIRE(b.pending_messages.size() == static_cast<std::size_t>(b.pending));
    for (const auto& message : b.pending_messages) {
      INFO(message);
      CHECK(message.starts_with("0/3 nodes are available: "));
      CHECK(message.find("Insufficient") != std::string::npos);
      CHECK(message.ends_with("."));
    }
  }
  // The demo's cluster (3 nodes, 12 pods each, seed 1) is packed the way real ones are: most of
  // its cpu requested, not all, and some demand waiting.
  const auto demo = nodepack::sim::generate_cluster({3, 12}, 1);
  const auto b = books(demo.nodes, demo.pods);
  INFO("cpu requested: " << cpu_share(b));
  CHECK(cpu_share(b) >= 0.60);
  CHECK(cpu_share(b) <= 0.90);
  CHECK(b.pending >= 1);
}

TEST_CASE("filling packs large machines too: pods beyond pods-per-node until the cpu share is reached") {
  nodepack::sim::ClusterOptions shape{3, 12};
  // A 144-CPU node among the generated ones, as a GB200-like machine makes it.
  shape.shape_node = [](boost::json::object& node) {
    if (node["metadata"].as_object()["name"] == "sim-node-1") {
      auto& status = node["status"].as_object();
      status["capacity"].as_object()["cpu"] = status["allocatable"].as_object()["cpu"] = "143";
      status["capacity"].as_object()["memory"] = status["allocatable"].as_object()["memory"] = "480Gi";
      status["capacity"].as_object()["pods"] = status["allocatable"].as_object()["pods"] = "250";
    }
  };
  const auto plain =
      books(nodepack::sim::generate_cluster(shape, 1).nodes, nodepack::sim::generate_cluster(shape, 1).pods);
  INFO("unfilled cpu requested: " << cpu_share(plain));
  CHECK(cpu_share(plain) < 0.30);  // 33 workloads cannot fill 155 cores
  shape.fill_cpu = 0.75;
  const auto filled = nodepack::sim::generate_cluster(shape, 1);
  const auto b = books(filled.nodes, filled.pods);
  check_no_overcommit(b);
  INFO("filled cpu requested: " << cpu_share(b));
  CHECK(cpu_share(b) >= 0.60);
  CHECK(cpu_share(b) <= 0.90);
  CHECK(filled.pods.size() > 3 * 12);
}

TEST_CASE("bulky pods: managedFields, last-applied and env pad every pod to about the size asked, the rest as before") {
  nodepack::sim::ClusterOptions shape{2, 20};
  const auto plain = nodepack::sim::generate_cluster(shape, 3);
  shape.pod_bytes = 21000;
  const auto bulky = nodepack::sim::generate_cluster(shape, 3);
  REQUIRE(bulky.pods.size() == plain.pods.size());
  for (std::size_t i = 0; i < bulky.pods.size(); ++i) {
    const auto& pod = bulky.pods[i];
    const auto size = boost::json::serialize(pod).size();
    INFO(pod.at("metadata").at("name").as_string() << ": " << size << " bytes");
    CHECK(size >= 20000);
    CHECK(size <= 22000);
    const auto& metadata = pod.at("metadata").as_object();
    CHECK(metadata.at("managedFields").as_array().size() == 2);
    CHECK(metadata.at("annotations").at("kubectl.kubernetes.io/last-applied-configuration").is_string());
    CHECK_FALSE(pod.at("spec").at("containers").at(0).at("env").as_array().empty());
    // Same names, placement, status and requests as the unpadded cluster of the seed.
    CHECK(metadata.at("name") == plain.pods[i].at("metadata").at("name"));
    CHECK(pod.at("status") == plain.pods[i].at("status"));
    const auto& spec = pod.at("spec").as_object();
    const auto& plain_spec = plain.pods[i].at("spec").as_object();
    const auto node_of = [](const boost::json::object& o) {
      const auto* n = o.if_contains("nodeName");
      return n == nullptr ? std::string() : std::string(n->as_string());
    };
    CHECK(node_of(spec) == node_of(plain_spec));
    const auto& containers = spec.at("containers").as_array();
    REQUIRE(containers.size() == plain_spec.at("containers").as_array().size());
    for (std::size_t c = 0; c < containers.size(); ++c) {
      CHECK(containers[c].at("resources") == plain_spec.at("containers").as_array()[c].at("resources"));
    }
  }
}

TEST_CASE("churn keeps every node within its allocatable and places waiting pods when room frees") {
  const nodepack::sim::ClusterOptions shape{3, 12};
  Started s;
  REQUIRE(nodepack::sim::load_cluster(s.server, nodepack::sim::generate_cluster(shape, 5)).has_value());
  nodepack::sim::Churner churner(shape, 9);
  int changes = 0;
  for (int i = 0; i < 200; ++i) {
    const auto stats = churner.step(s.server);
    changes += stats.added + stats.modified + stats.deleted;
    check_no_overcommit(books(objects(s.server, Kind::node), objects(s.server, Kind::pod)));
  }
  CHECK(changes >= 200);
}

TEST_CASE("a pod that fits nowhere names each node's shortfall, sorted as kube-scheduler sorts them") {
  const auto cluster = nodepack::sim::generate_cluster({2, 1}, 3);  // two empty nodes but their DaemonSet pod
  std::vector<nodepack::sim::ObjectPtr> nodes;
  std::vector<nodepack::sim::ObjectPtr> pods;
  for (const auto& n : cluster.nodes) {
    nodes.push_back(std::make_shared<const json::object>(n));
  }
  for (const auto& p : cluster.pods) {
    pods.push_back(std::make_shared<const json::object>(p));
  }
  nodepack::sim::Scheduler scheduler(nodes, pods);
  std::mt19937_64 random(1);
  json::object huge{
      {"metadata", json::object{{"name", "huge"}, {"namespace", "default"}, {"uid", "u-huge"}}},
      {"spec", json::object{{"containers", json::array{json::object{{"name", "c"},
                                                                    {"resources", json::object{{"requests",
                                                                                                json::object{
                                                                                                    {"cpu", "64"},
                                                                                                    {"memory", "1Ti"},
                                                                                                }}}}}}}}},
      {"status", json::object{{"phase", "Pending"}}}};
  const auto placement = scheduler.place(huge, random);
  CHECK_FALSE(placement.node.has_value());
  CHECK(placement.message == "0/2 nodes are available: 2 Insufficient cpu, 2 Insufficient memory.");
  json::object small = huge;
  small["metadata"].as_object()["name"] = "small";
  small["spec"].as_object()["containers"].as_array()[0].as_object()["resources"] =
      json::object{{"requests", json::object{{"cpu", "100m"}, {"memory", "64Mi"}}}};
  CHECK(scheduler.place(small, random).node.has_value());
}

TEST_CASE("create, update with optimistic concurrency and delete, for a group kind (Lease)") {
  Started s;
  const std::string path = "/apis/coordination.k8s.io/v1/namespaces/nodepack/leases";
  const std::string lease =
      R"({"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"nodepack-aggregator"},)"
      R"("spec":{"holderIdentity":"a","leaseDurationSeconds":15}})";
  auto created = http_send(s.port(), bhttp::verb::post, path, lease);
  REQUIRE(created.status == 201);
  const auto rv = std::string(created.json().at("metadata").at("resourceVersion").as_string());
  CHECK(created.json().at("metadata").at("namespace").as_string() == "nodepack");
  CHECK(http_send(s.port(), bhttp::verb::post, path, lease).status == 409);  // AlreadyExists

  auto update = [&](const std::string& holder, const std::string& version) {
    json::object o = json::parse(lease).as_object();
    o["metadata"].as_object()["resourceVersion"] = version;
    o["spec"].as_object()["holderIdentity"] = holder;
    return http_send(s.port(), bhttp::verb::put, path + "/nodepack-aggregator", json::serialize(o));
  };
  auto b = update("b", rv);
  REQUIRE(b.status == 200);
  CHECK(b.json().at("spec").at("holderIdentity").as_string() == "b");
  auto stale = update("c", rv);  // the version a was renewing from: someone else won
  CHECK(stale.status == 409);
  CHECK(stale.json().at("reason").as_string() == "Conflict");
  CHECK(http_get(s.port(), path + "/nodepack-aggregator").json().at("spec").at("holderIdentity").as_string() == "b");
  CHECK(http_send(s.port(), bhttp::verb::delete_, path + "/nodepack-aggregator", "").status == 200);
  CHECK(http_get(s.port(), path + "/nodepack-aggregator").status == 404);
  CHECK(s.server.request_count("write") == 5);
}

TEST_CASE("discovery lists every group the server serves, and each group version's resources") {
  Started s;
  const auto groups = http_get(s.port(), "/apis").json();
  std::vector<std::string> names;
  for (const auto& g : groups.at("groups").as_array()) {
    names.emplace_back(g.at("name").as_string());
  }
  for (const char* want : {"authentication.k8s.io", "authorization.k8s.io", "coordination.k8s.io", "discovery.k8s.io",
                           "topology.node.k8s.io"}) {
    CHECK(std::find(names.begin(), names.end(), want) != names.end());
  }
  const auto topology = http_get(s.port(), "/apis/topology.node.k8s.io/v1alpha2").json();
  CHECK(topology.at("resources").as_array()[0].at("name").as_string() == "noderesourcetopologies");
  CHECK(topology.at("resources").as_array()[0].at("namespaced").as_bool() == false);
  const auto core = http_get(s.port(), "/api/v1").json();
  std::vector<std::string> core_names;
  for (const auto& r : core.at("resources").as_array()) {
    core_names.emplace_back(r.at("name").as_string());
  }
  CHECK(core_names == std::vector<std::string>{"pods", "nodes", "services", "events"});
  CHECK(http_get(s.port(), "/apis/nope.example/v1").status == 404);
}

TEST_CASE("kubectl's Tables: READY, STATUS, RESTARTS, AGE, and with -o wide the pod's IP and node") {
  Started s;
  const auto cluster = nodepack::sim::generate_cluster({1, 3}, 4);
  REQUIRE(nodepack::sim::load_cluster(s.server, cluster).has_value());
  const std::string accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";
  auto table = http_send(s.port(), bhttp::verb::get, "/api/v1/pods", "", "", accept);
  REQUIRE(table.status == 200);
  const auto t = table.json();
  CHECK(t.at("kind").as_string() == "Table");
  std::vector<std::string> columns;
  for (const auto& c : t.at("columnDefinitions").as_array()) {
    columns.emplace_back(c.at("name").as_string());
  }
  CHECK(columns == std::vector<std::string>{"Name", "Ready", "Status", "Restarts", "Age", "IP", "Node",
                                            "Nominated Node", "Readiness Gates"});
  REQUIRE(t.at("rows").as_array().size() == cluster.pods.size());
  bool saw_agent = false;
  for (const auto& row : t.at("rows").as_array()) {
    const auto& cells = row.at("cells").as_array();
    REQUIRE(cells.size() == 9);
    if (cells[0].as_string().starts_with("node-agent-")) {
      saw_agent = true;
      CHECK(cells[1].as_string() == "1/1");
      CHECK(cells[2].as_string() == "Running");
      CHECK(cells[6].as_string() == "sim-node-0");
      CHECK(cells[5].as_string().starts_with("10.128."));
    }
    CHECK(row.at("object").at("kind").as_string() == "PartialObjectMetadata");
  }
  CHECK(saw_agent);
  auto nodes = http_send(s.port(), bhttp::verb::get, "/api/v1/nodes/sim-node-0", "", "", accept).json();
  const auto& cells = nodes.at("rows").as_array().at(0).at("cells").as_array();
  CHECK(cells[0].as_string() == "sim-node-0");
  CHECK(cells[1].as_string() == "Ready");
  CHECK(cells[4].as_string() == "v1.32.0");
  CHECK(nodepack::sim::human_duration(std::chrono::seconds(45)) == "45s");
  CHECK(nodepack::sim::human_duration(std::chrono::seconds(330)) == "5m30s");
  CHECK(nodepack::sim::human_duration(std::chrono::hours(5) + std::chrono::minutes(7)) == "5h7m");
  CHECK(nodepack::sim::human_duration(std::chrono::hours(24 * 3 + 2)) == "3d2h");
}

TEST_CASE("token and access reviews answer as RBAC would for the identities and rules configured") {
  FakeApiOptions options;
  options.token = "admin-token";
  options.identities = {{"prom-token", "system:serviceaccount:monitoring:prometheus", {"scrapers"}},
                        {"nobody-token", "nobody", {}}};
  options.rules = {{"", "scrapers", {"get"}, {"/metrics"}, {}},
                   {"system:serviceaccount:monitoring:prometheus", "", {"get"}, {}, {"nodes/metrics"}}};
  Started s(options);
  const std::string tr = "/apis/authentication.k8s.io/v1/tokenreviews";
  auto review = [&](const std::string& token) {
    json::object body{
        {"apiVersion", "authentication.k8s.io/v1"}, {"kind", "TokenReview"}, {"spec", json::object{{"token", token}}}};
    return http_send(s.port(), bhttp::verb::post, tr, json::serialize(body), "admin-token").json();
  };
  const auto prom = review("prom-token");
  CHECK(prom.at("status").at("authenticated").as_bool());
  CHECK(prom.at("status").at("user").at("username").as_string() == "system:serviceaccount:monitoring:prometheus");
  CHECK(prom.at("status").at("user").at("groups").as_array()[0].as_string() == "scrapers");
  CHECK_FALSE(review("wrong").at("status").at("authenticated").as_bool());

  const std::string sar = "/apis/authorization.k8s.io/v1/subjectaccessreviews";
  auto allowed = [&](const std::string& user, json::array groups, json::object attributes) {
    json::object spec{{"user", user}, {"groups", std::move(groups)}};
    spec[attributes.contains("path") ? "nonResourceAttributes" : "resourceAttributes"] = std::move(attributes);
    json::object body{{"apiVersion", "authorization.k8s.io/v1"}, {"kind", "SubjectAccessReview"}, {"spec", spec}};
    return http_send(s.port(), bhttp::verb::post, sar, json::serialize(body), "admin-token")
        .json()
        .at("status")
        .at("allowed")
        .as_bool();
  };
  const std::string prom_user = "system:serviceaccount:monitoring:prometheus";
  CHECK(allowed(prom_user, {"scrapers"}, {{"path", "/metrics"}, {"verb", "get"}}));
  CHECK_FALSE(allowed(prom_user, {"scrapers"}, {{"path", "/debug/pods"}, {"verb", "get"}}));
  CHECK(allowed(prom_user, {}, {{"verb", "get"}, {"resource", "nodes"}, {"subresource", "metrics"}}));
  CHECK_FALSE(allowed("nobody", {}, {{"path", "/metrics"}, {"verb", "get"}}));
  CHECK(allowed("admin", {"system:masters"}, {{"path", "/debug/pods"}, {"verb", "get"}}));
  // Calls to the API itself: a known token works, an unknown one does not.
  CHECK(http_get(s.port(), "/api/v1/pods", "nobody-token").status == 200);
  CHECK(http_get(s.port(), "/api/v1/pods", "forged").status == 401);
  CHECK(s.server.request_count("review") == 7);
}
