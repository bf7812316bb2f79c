// The fake API server over real sockets: list, pagination, watch replay and 410s, bookmarks,
// selector-filtered watches, auth, injected failures, counters, and the cluster generator.

#include "sim/cluster.hpp"
#include "sim/fake_api_server.hpp"
#include "test_client.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <functional>
#include <thread>

using namespace std::chrono_literals;
using nodepack::sim::FakeApiOptions;
using nodepack::sim::FakeApiServer;
using nodepack::sim::Kind;
using nodepack::sim::test::http_get;
using nodepack::sim::test::http_request;
using nodepack::sim::test::WatchStream;
namespace json = boost::json;

namespace {

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds limit = 5000ms) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

json::object pod(const std::string& ns, const std::string& name, const std::string& node = "n1",
                 const std::string& app = "web", const std::string& phase = "Running") {
  return json::object{
      {"metadata", json::object{{"name", name}, {"namespace", ns}, {"labels", json::object{{"app", app}}}}},
      {"spec", json::object{{"nodeName", node}}},
      {"status", json::object{{"phase", phase}}}};
}

std::string name_of(const json::value& object) { return std::string(object.at("metadata").at("name").as_string()); }

std::vector<std::string> names(const json::value& list) {
  std::vector<std::string> out;
  for (const auto& item : list.at("items").as_array()) {
    out.push_back(name_of(item));
  }
  return out;
}

std::string rv_of(const json::value& v) { return std::string(v.at("metadata").at("resourceVersion").as_string()); }

struct Started {
  explicit Started(FakeApiOptions options = {}) : server(std::move(options)) {
    REQUIRE(server.start("127.0.0.1:0").has_value());
  }
  FakeApiServer server;
  std::uint16_t port() const { return server.port(); }
};

}  // namespace

TEST_CASE("discovery answers what kubectl asks for") {
  Started s;
  auto api = http_get(s.port(), "/api").json();
  CHECK(api.at("kind").as_string() == "APIVersions");
  CHECK(api.at("versions").as_array()[0].as_string() == "v1");
  auto resources = http_get(s.port(), "/api/v1").json();
  CHECK(resources.at("kind").as_string() == "APIResourceList");
  // Pods, nodes, services and events in the core group (the rest in groups: test_sim_cluster.cpp).
  CHECK(resources.at("resources").as_array().size() == 4);
  // Pods can be deleted (kubectl delete pod); nodes are read-only.
  CHECK(resources.at("resources").as_array()[0].at("name").as_string() == "pods");
  CHECK(json::serialize(resources.at("resources").as_array()[0].at("verbs")) == R"(["delete","get","list","watch"])");
  CHECK(json::serialize(resources.at("resources").as_array()[1].at("verbs")) == R"(["get","list","watch"])");
  CHECK_FALSE(http_get(s.port(), "/apis").json().at("groups").as_array().empty());
  CHECK(http_get(s.port(), "/version").json().at("major").as_string() == "1");
  auto missing = http_get(s.port(), "/api/v1/configmaps");
  CHECK(missing.status == 404);
  CHECK(missing.json().at("kind").as_string() == "Status");
}

TEST_CASE("objects get metadata and a global resourceVersion; GET by name") {
  Started s;
  const auto before = s.server.resource_version();
  auto stored = s.server.upsert(Kind::pod, pod("web", "a")).value();
  CHECK(rv_of(stored) == std::to_string(before + 1));
  CHECK(stored.at("metadata").at("uid").as_string().size() == 36);
  CHECK(!stored.at("metadata").at("creationTimestamp").as_string().empty());
  CHECK(stored.at("kind").as_string() == "Pod");
  auto again = s.server.upsert(Kind::pod, pod("web", "a", "n2")).value();
  CHECK(again.at("metadata").at("uid") == stored.at("metadata").at("uid"));  // same object, same uid
  CHECK(rv_of(again) == std::to_string(before + 2));
  CHECK(s.server.upsert(Kind::pod, json::object{{"metadata", json::object{}}}).has_error());

  auto got = http_get(s.port(), "/api/v1/namespaces/web/pods/a");
  CHECK(got.status == 200);
  CHECK(got.json().at("spec").at("nodeName").as_string() == "n2");
  auto missing = http_get(s.port(), "/api/v1/namespaces/web/pods/zzz");
  CHECK(missing.status == 404);
  CHECK(missing.json().at("reason").as_string() == "NotFound");
  CHECK(missing.json().at("message").as_string() == "pods \"zzz\" not found");
}

TEST_CASE("list is sorted, scoped and filtered by selectors") {
  Started s;
  s.server.upsert(Kind::pod, pod("web", "b", "n1", "web")).value();
  s.server.upsert(Kind::pod, pod("db", "z", "n2", "db")).value();
  s.server.upsert(Kind::pod, pod("web", "a", "n2", "web", "Succeeded")).value();
  s.server.upsert(Kind::pod, pod("web-2", "c", "", "web", "Pending")).value();
  s.server.upsert(Kind::node, json::object{{"metadata", json::object{{"name", "n1"}}}}).value();

  auto all = http_get(s.port(), "/api/v1/pods").json();
  CHECK(all.at("kind").as_string() == "PodList");
  CHECK(all.at("apiVersion").as_string() == "v1");
  CHECK(rv_of(all) == std::to_string(s.server.resource_version()));
  CHECK(names(all) == std::vector<std::string>{"z", "a", "b", "c"});  // db/z, web/a, web/b, web-2/c
  CHECK(names(http_get(s.port(), "/api/v1/namespaces/web/pods").json()) == std::vector<std::string>{"a", "b"});
  CHECK(names(http_get(s.port(), "/api/v1/pods?fieldSelector=spec.nodeName%3Dn2").json()) ==
        std::vector<std::string>{"z", "a"});
  CHECK(names(http_get(s.port(), "/api/v1/pods?fieldSelector=spec.nodeName%3D").json()) ==
        std::vector<std::string>{"c"});
  CHECK(names(http_get(s.port(), "/api/v1/pods?fieldSelector=status.phase!%3DSucceeded,spec.nodeName!%3Dn1").json()) ==
        std::vector<std::string>{"z", "c"});
  CHECK(names(http_get(s.port(), "/api/v1/pods?labelSelector=app%20in%20(db)").json()) ==
        std::vector<std::string>{"z"});
  CHECK(names(http_get(s.port(), "/api/v1/pods?labelSelector=app!%3Ddb&resourceVersion=0").json()) ==
        std::vector<std::string>{"a", "b", "c"});
  auto nodes = http_get(s.port(), "/api/v1/nodes").json();
  CHECK(nodes.at("kind").as_string() == "NodeList");
  CHECK(names(nodes) == std::vector<std::string>{"n1"});

  auto bad_label = http_get(s.port(), "/api/v1/pods?labelSelector=app%20in%20(");
  CHECK(bad_label.status == 400);
  CHECK(bad_label.json().at("kind").as_string() == "Status");
  CHECK(bad_label.json().at("reason").as_string() == "BadRequest");
  auto bad_field = http_get(s.port(), "/api/v1/pods?fieldSelector=spec.priority%3Dx");
  CHECK(bad_field.status == 400);
  CHECK(bad_field.json().at("message").as_string() == "field label not supported: spec.priority");
}

TEST_CASE("paginated list stays consistent across a change, and its token expires with compaction") {
  Started s;
  for (const char* name : {"p1", "p2", "p3", "p4", "p5"}) {
    s.server.upsert(Kind::pod, pod("ns", name)).value();
  }
  auto first = http_get(s.port(), "/api/v1/pods?limit=2").json();
  CHECK(names(first) == std::vector<std::string>{"p1", "p2"});
  const auto version = rv_of(first);
  const std::string token(first.at("metadata").at("continue").as_string());
  REQUIRE(!token.empty());

  // Changes after the first page must not show in the later pages.
  s.server.upsert(Kind::pod, pod("ns", "p3", "moved")).value();
  s.server.upsert(Kind::pod, pod("ns", "p35")).value();
  s.server.remove(Kind::pod, "ns", "p4");

  auto second = http_get(s.port(), "/api/v1/pods?limit=2&continue=" + token).json();
  CHECK(names(second) == std::vector<std::string>{"p3", "p4"});
  CHECK(rv_of(second) == version);
  CHECK(second.at("items").as_array()[0].at("spec").at("nodeName").as_string() == "n1");
  const std::string token2(second.at("metadata").at("continue").as_string());
  auto third = http_get(s.port(), "/api/v1/pods?limit=2&continue=" + token2).json();
  CHECK(names(third) == std::vector<std::string>{"p5"});
  CHECK(third.at("metadata").as_object().if_contains("continue") == nullptr);

  // A fresh list sees the changes.
  CHECK(names(http_get(s.port(), "/api/v1/pods").json()) == std::vector<std::string>{"p1", "p2", "p3", "p35", "p5"});

  s.server.compact();
  auto expired = http_get(s.port(), "/api/v1/pods?limit=2&continue=" + token2);
  CHECK(expired.status == 410);
  auto status = expired.json();
  CHECK(status.at("kind").as_string() == "Status");
  CHECK(status.at("status").as_string() == "Failure");
  CHECK(status.at("reason").as_string() == "Expired");
  CHECK(status.at("code").as_int64() == 410);

  CHECK(http_get(s.port(), "/api/v1/pods?limit=2&continue=garbage!").status == 400);
}

TEST_CASE("DELETE of a pod removes it at once, tells watchers and answers with the object") {
  Started s;
  s.server.upsert(Kind::pod, pod("web", "a")).value();
  s.server.upsert(Kind::pod, pod("web", "b")).value();
  const auto from = s.server.resource_version();
  WatchStream watch(s.port(), "/api/v1/pods?watch=1&resourceVersion=" + std::to_string(from));

  auto deleted = http_request(s.port(), boost::beast::http::verb::delete_, "/api/v1/namespaces/web/pods/a");
  CHECK(deleted.status == 200);
  CHECK(name_of(deleted.json()) == "a");
  CHECK(deleted.json().at("kind").as_string() == "Pod");
  auto event = watch.next();
  REQUIRE(event);
  CHECK(event->at("type").as_string() == "DELETED");
  CHECK(name_of(event->at("object")) == "a");
  CHECK(s.server.resource_version() == from + 1);
  CHECK(names(http_get(s.port(), "/api/v1/pods").json()) == std::vector<std::string>{"b"});

  auto again = http_request(s.port(), boost::beast::http::verb::delete_, "/api/v1/namespaces/web/pods/a");
  CHECK(again.status == 404);
  CHECK(again.json().at("message").as_string() == "pods \"a\" not found");
  // Only single pods: not collections, not nodes; other writes stay refused.
  CHECK(http_request(s.port(), boost::beast::http::verb::delete_, "/api/v1/namespaces/web/pods").status == 405);
  CHECK(http_request(s.port(), boost::beast::http::verb::delete_, "/api/v1/nodes/n1").status == 405);
  auto post = http_request(s.port(), boost::beast::http::verb::post, "/api/v1/namespaces/web/pods");
  CHECK(post.status == 405);
  CHECK(post.headers[boost::beast::http::field::allow] == "GET, HEAD");
  CHECK(s.server.request_count("get") == 0);  // deletes are not counted as gets
}

TEST_CASE("watch from a resourceVersion replays the history, then follows") {
  Started s;
  s.server.upsert(Kind::pod, pod("ns", "old")).value();
  const auto from = s.server.resource_version();
  s.server.upsert(Kind::pod, pod("ns", "a")).value();
  s.server.upsert(Kind::pod, pod("ns", "a", "n2")).value();
  s.server.remove(Kind::pod, "ns", "a");
  s.server.upsert(Kind::node, json::object{{"metadata", json::object{{"name", "n1"}}}}).value();  // other kind

  WatchStream watch(s.port(), "/api/v1/pods?watch=1&resourceVersion=" + std::to_string(from));
  CHECK(watch.status() == 200);
  std::vector<std::string> seen;
  for (int i = 0; i < 3; ++i) {
    auto event = watch.next();
    REQUIRE(event);
    seen.push_back(std::string(event->at("type").as_string()) + " " + name_of(event->at("object")));
  }
  CHECK(seen == std::vector<std::string>{"ADDED a", "MODIFIED a", "DELETED a"});

  REQUIRE(wait_until([&] { return s.server.watch_count() == 1; }));
  auto live = s.server.upsert(Kind::pod, pod("ns", "b")).value();
  auto event = watch.next();
  REQUIRE(event);
  CHECK(event->at("type").as_string() == "ADDED");
  CHECK(rv_of(event->at("object")) == rv_of(live));
}

TEST_CASE("watch without a resourceVersion starts with the current objects") {
  Started s;
  s.server.upsert(Kind::pod, pod("ns", "a")).value();
  s.server.upsert(Kind::pod, pod("ns", "b", "n2")).value();
  WatchStream watch(s.port(), "/api/v1/pods?watch=true&resourceVersion=0&fieldSelector=spec.nodeName%3Dn2");
  auto event = watch.next();
  REQUIRE(event);
  CHECK(event->at("type").as_string() == "ADDED");
  CHECK(name_of(event->at("object")) == "b");
}

TEST_CASE("watch from a compacted resourceVersion gets an ERROR event with a 410 and ends") {
  Started s;
  s.server.upsert(Kind::pod, pod("ns", "a")).value();
  const auto old = s.server.resource_version();
  s.server.upsert(Kind::pod, pod("ns", "b")).value();
  s.server.compact();
  WatchStream watch(s.port(), "/api/v1/pods?watch=1&resourceVersion=" + std::to_string(old));
  CHECK(watch.status() == 200);
  auto event = watch.next();
  REQUIRE(event);
  CHECK(event->at("type").as_string() == "ERROR");
  const auto& status = event->at("object");
  CHECK(status.at("kind").as_string() == "Status");
  CHECK(status.at("code").as_int64() == 410);
  CHECK(status.at("reason").as_string() == "Expired");
  CHECK(status.at("message").as_string() ==
        "too old resource version: " + std::to_string(old) + " (" + std::to_string(s.server.resource_version()) + ")");
  CHECK_FALSE(watch.next());
  CHECK(watch.ended());
}

TEST_CASE("a bounded history forgets the oldest events") {
  FakeApiOptions options;
  options.history_limit = 3;
  Started s(options);
  for (int i = 0; i < 5; ++i) {
    s.server.upsert(Kind::pod, pod("ns", "p" + std::to_string(i))).value();
  }
  // Versions 1..5; the last 3 events are kept, so a watch can start from 2 but not from 1.
  WatchStream ok(s.port(), "/api/v1/pods?watch=1&resourceVersion=2");
  auto first = ok.next();
  REQUIRE(first);
  CHECK(name_of(first->at("object")) == "p2");
  WatchStream too_old(s.port(), "/api/v1/pods?watch=1&resourceVersion=1");
  auto error = too_old.next();
  REQUIRE(error);
  CHECK(error->at("type").as_string() == "ERROR");
}

TEST_CASE("bookmarks arrive when asked for and carry the current resourceVersion") {
  FakeApiOptions options;
  options.bookmark_interval = 200ms;
  Started s(options);
  s.server.upsert(Kind::pod, pod("ns", "a")).value();
  s.server.upsert(Kind::pod, pod("ns", "b")).value();
  const auto version = s.server.resource_version();
  WatchStream watch(s.port(),
                    "/api/v1/pods?watch=1&allowWatchBookmarks=true&labelSelector=app%3Dnone&resourceVersion=" +
                        std::to_string(version));
  auto event = watch.next();
  REQUIRE(event);
  CHECK(event->at("type").as_string() == "BOOKMARK");
  CHECK(event->at("object").at("kind").as_string() == "Pod");
  CHECK(rv_of(event->at("object")) == std::to_string(version));
  // Filtered-out changes still move the bookmark on.
  s.server.upsert(Kind::pod, pod("ns", "c")).value();
  std::optional<json::object> next;
  REQUIRE(wait_until([&] {
    next = watch.next(1000ms);
    return next && rv_of(next->at("object")) == std::to_string(s.server.resource_version());
  }));
  CHECK(next->at("type").as_string() == "BOOKMARK");
}

TEST_CASE("a selector-filtered watch sends DELETED when an object stops matching") {
  Started s;
  s.server.upsert(Kind::pod, pod("ns", "a", "n1", "web")).value();
  const auto from = s.server.resource_version();
  WatchStream watch(s.port(), "/api/v1/pods?watch=1&labelSelector=app%3Dweb&resourceVersion=" + std::to_string(from));
  REQUIRE(wait_until([&] { return s.server.watch_count() == 1; }));
  s.server.upsert(Kind::pod, pod("ns", "a", "n1", "db")).value();
  const auto moved_away = s.server.resource_version();
  s.server.upsert(Kind::pod, pod("ns", "a", "n1", "web")).value();
  s.server.upsert(Kind::pod, pod("ns", "a", "n2", "web")).value();

  auto deleted = watch.next();
  REQUIRE(deleted);
  CHECK(deleted->at("type").as_string() == "DELETED");
  CHECK(rv_of(deleted->at("object")) == std::to_string(moved_away));
  CHECK(deleted->at("object").at("metadata").at("labels").at("app").as_string() == "web");  // old content
  auto added = watch.next();
  REQUIRE(added);
  CHECK(added->at("type").as_string() == "ADDED");
  auto modified = watch.next();
  REQUIRE(modified);
  CHECK(modified->at("type").as_string() == "MODIFIED");
}

TEST_CASE("drop_watches and timeoutSeconds end watch streams") {
  Started s;
  WatchStream watch(s.port(), "/api/v1/pods?watch=1");
  REQUIRE(wait_until([&] { return s.server.watch_count() == 1; }));
  s.server.drop_watches();
  CHECK_FALSE(watch.next());
  CHECK(watch.ended());

  WatchStream timed(s.port(), "/api/v1/nodes?watch=1&timeoutSeconds=1");
  CHECK_FALSE(timed.next(5000ms));
  CHECK(timed.ended());
}

TEST_CASE("a bearer token is required when configured") {
  FakeApiOptions options;
  options.token = "s3cret";
  Started s(options);
  auto missing = http_get(s.port(), "/api/v1/pods");
  CHECK(missing.status == 401);
  CHECK(missing.json().at("reason").as_string() == "Unauthorized");
  CHECK(http_get(s.port(), "/api/v1/pods", "wrong").status == 401);
  CHECK(http_get(s.port(), "/api/v1/pods", "s3cret").status == 200);
}

TEST_CASE("injected failures answer the next requests, then it recovers; counters count") {
  Started s;
  s.server.upsert(Kind::pod, pod("ns", "a")).value();
  s.server.set_fail_next(2, 500);
  auto first = http_get(s.port(), "/api/v1/pods");
  CHECK(first.status == 500);
  CHECK(first.json().at("reason").as_string() == "InternalError");
  CHECK(http_get(s.port(), "/api/v1/namespaces/ns/pods/a").status == 500);
  CHECK(http_get(s.port(), "/api/v1/pods").status == 200);
  s.server.set_fail_next(1, 429);
  auto throttled = http_get(s.port(), "/api/v1/pods");
  CHECK(throttled.status == 429);
  CHECK(throttled.headers["Retry-After"] == "1");
  {
    WatchStream watch(s.port(), "/api/v1/pods?watch=1");
    CHECK(watch.next());
  }
  http_get(s.port(), "/version");
  CHECK(s.server.request_count("list") == 3);
  CHECK(s.server.request_count("get") == 1);
  CHECK(s.server.request_count("watch") == 1);
  CHECK(s.server.total_requests() == 6);
}

TEST_CASE("the generated cluster is deterministic, complete and loads") {
  const nodepack::sim::ClusterOptions shape{4, 10};
  const auto a = nodepack::sim::generate_cluster(shape, 42);
  const auto b = nodepack::sim::generate_cluster(shape, 42);
  CHECK(a.nodes.size() == 4);
  // A DaemonSet pod and nine workloads per node; where the workloads go is the scheduler's business
  // (tests/sim/test_sim_cluster.cpp): they no longer land on a node regardless of fit.
  CHECK(a.pods.size() == 4 * 10);
  CHECK(json::serialize(json::value(a.pods.back())) == json::serialize(json::value(b.pods.back())));
  int daemonset = 0;
  for (const auto& p : a.pods) {
    const auto& refs = p.at("metadata").at("ownerReferences").as_array();
    daemonset += refs[0].at("kind").as_string() == "DaemonSet" ? 1 : 0;
  }
  CHECK(daemonset == 4);
  const auto& node = a.nodes[0];
  CHECK(node.at("metadata").at("labels").at("topology.kubernetes.io/zone").as_string() == "zone-a");
  CHECK(node.at("status").at("allocatable").at("pods").as_string() == "110");
  CHECK(a.nodes[3].at("status").at("allocatable").as_object().contains("nvidia.com/gpu"));

  Started s;
  REQUIRE(nodepack::sim::load_cluster(s.server, a).has_value());
  CHECK(names(http_get(s.port(), "/api/v1/nodes").json()).size() == 4);
  const auto before = s.server.resource_version();
  nodepack::sim::Churner churner(shape, 7);
  const auto stats = churner.step(s.server);
  CHECK(stats.added + stats.modified + stats.deleted >= 1);
  CHECK(s.server.resource_version() > before);
}

TEST_CASE("stop() ends open watches and returns") {
  auto s = std::make_unique<Started>();
  WatchStream watch(s->port(), "/api/v1/pods?watch=1");
  REQUIRE(wait_until([&] { return s->server.watch_count() == 1; }));
  s->server.stop();
  CHECK_FALSE(watch.next());
  CHECK(watch.ended());
}
