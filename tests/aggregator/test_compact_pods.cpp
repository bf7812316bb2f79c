// The aggregator's compact pod store (aggregator/request_rows.hpp, aggregator/pod_index.hpp) and
// ClusterPods on top of it: rows shared and given back, keys exact, and every node's totals equal
// to the scheduler-exact sums of the pods on it after adds, updates and deletes.

#include "aggregator/cluster_pods.hpp"
#include "aggregator/pod_index.hpp"
#include "aggregator/request_rows.hpp"
#include "kube/pod_requests.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <cstdio>
#include <map>
#include <random>

using namespace nodepack;
using namespace nodepack::aggregator;
namespace json = boost::json;

namespace {

kube::Quantity q(const char* text) { return kube::Quantity::parse(text).value(); }

std::string uuid(int i) {
  char text[40];
  std::snprintf(text, sizeof text, "%08x-0000-4000-8000-%012x", i, i * 7);
  return text;
}

json::value pod(const std::string& uid, const std::string& node, const std::string& cpu, const std::string& memory,
                bool daemonset = false, const std::string& phase = "Running") {
  return json::value{
      {"metadata",
       {{"name", "p-" + uid},
        {"namespace", "default"},
        {"uid", uid},
        {"ownerReferences", json::array{{{"kind", daemonset ? "DaemonSet" : "ReplicaSet"}, {"name", "o"}}}}}},
      {"spec",
       {{"nodeName", node},
        {"containers",
         json::array{{{"name", "app"}, {"resources", {{"requests", {{"cpu", cpu}, {"memory", memory}}}}}}}},
        {"initContainers",
         json::array{{{"name", "init"}, {"resources", {{"requests", {{"cpu", "200m"}, {"memory", "64Mi"}}}}}}}}}},
      {"status", {{"phase", phase}}}};
}

}  // namespace

TEST_CASE("request rows: equal rows are kept once, counted, and given back") {
  RequestRows rows(2);
  const std::vector<kube::Quantity> small{q("100m"), q("128Mi")};
  const std::vector<kube::Quantity> large{q("2"), q("4Gi")};
  const auto a = rows.acquire(small);
  const auto b = rows.acquire(small);
  const auto c = rows.acquire(large);
  CHECK(a == b);
  CHECK(a != c);
  CHECK(rows.distinct() == 2);
  CHECK(rows.references(a) == 2);
  CHECK(rows.row(c)[0] == q("2"));
  CHECK(rows.row(c)[1] == q("4Gi"));
  CHECK(rows.equals(a, small));
  CHECK_FALSE(rows.equals(a, large));
  rows.release(a);
  CHECK(rows.distinct() == 2);
  rows.release(b);
  CHECK(rows.distinct() == 1);  // no pod holds it: dropped
  rows.release(RequestRows::none);
  const std::vector<kube::Quantity> other{q("1"), q("1")};
  const auto d = rows.acquire(other);
  CHECK(d == a);  // its id is reused
  CHECK(rows.row(d)[0] == q("1"));
  CHECK(rows.acquire(small) != a);  // and the old figures are not found under it
  CHECK(rows.distinct() == 3);
}

TEST_CASE("pod index: canonical UUIDs as bytes, any other key as text, both exact") {
  const auto u = parse_uuid("0f8fad5b-d9cb-469f-a165-70867728950e");
  REQUIRE(u.has_value());
  CHECK((*u)[0] == 0x0f);
  CHECK((*u)[1] == 0x8f);
  CHECK((*u)[4] == 0xd9);
  CHECK((*u)[15] == 0x0e);
  CHECK_FALSE(parse_uuid("0F8FAD5B-D9CB-469F-A165-70867728950E").has_value());  // another text, same bytes
  CHECK_FALSE(parse_uuid("0f8fad5bd-9cb-469f-a165-70867728950e").has_value());
  CHECK_FALSE(parse_uuid("0f8fad5b-d9cb-469f-a165-70867728950").has_value());
  CHECK_FALSE(parse_uuid("0f8fad5b-d9cb-469f-a165-70867728950g").has_value());
  CHECK_FALSE(parse_uuid("uid-a").has_value());

  PodIndex index;
  index.put(uuid(1), PodRecord{.node = 3, .daemonset = 1, .requests = 7, .other = RequestRows::none});
  index.put("default/no-uid", PodRecord{.node = 4, .daemonset = 0, .requests = 8, .other = 9});
  CHECK(index.size() == 2);
  REQUIRE(index.find(uuid(1)) != nullptr);
  CHECK(index.find(uuid(1))->node == 3);
  CHECK(index.find(uuid(1))->daemonset == 1);
  CHECK(index.find(uuid(1))->requests == 7);
  CHECK(index.find(uuid(2)) == nullptr);
  REQUIRE(index.find("default/no-uid") != nullptr);
  CHECK(index.find("default/no-uid")->other == 9);
  index.put(uuid(1), PodRecord{.node = 5, .daemonset = 0, .requests = 1, .other = RequestRows::none});
  CHECK(index.size() == 2);
  CHECK(index.find(uuid(1))->node == 5);
  CHECK(index.erase(uuid(1)));
  CHECK_FALSE(index.erase(uuid(1)));
  CHECK(index.erase("default/no-uid"));
  CHECK(index.size() == 0);

  // Erasing from the middle moves the last pod into the hole; every key still finds its own.
  for (std::uint32_t i = 0; i < 5; ++i) {
    index.put(uuid(static_cast<int>(i)), PodRecord{.node = i, .daemonset = 0, .requests = i, .other = i});
  }
  CHECK(index.erase(uuid(1)));
  CHECK(index.erase(uuid(0)));
  CHECK(index.find(uuid(1)) == nullptr);
  CHECK(index.find(uuid(0)) == nullptr);
  for (std::uint32_t i = 2; i < 5; ++i) {
    REQUIRE(index.find(uuid(static_cast<int>(i))) != nullptr);
    CHECK(index.find(uuid(static_cast<int>(i)))->node == i);
  }
  // Moved whole, as a finished list replaces the store.
  PodIndex moved;
  moved = std::move(index);
  CHECK(index.size() == 0);
  CHECK(index.find(uuid(3)) == nullptr);
  CHECK(moved.size() == 3);
  REQUIRE(moved.find(uuid(3)) != nullptr);
  CHECK(moved.find(uuid(3))->requests == 3);
  int visited = 0;
  moved.for_each([&](const PodRecord&) { ++visited; });
  CHECK(visited == 3);
}

TEST_CASE("cluster pods: node totals equal the scheduler-exact sums through adds, updates and deletes") {
  const std::vector<std::string> tracked{"cpu", "memory", "pods"};
  ClusterPods pods(tracked, kube::ResizeSemantics::per_container, [] {});
  // What every live pod is, to recount from: uid -> its JSON.
  std::map<std::string, json::value> live;
  const std::vector<std::string> nodes{"n0", "n1", "n2", "n3"};
  const std::vector<std::string> cpus{"100m", "250m", "1", "1500m"};
  const std::vector<std::string> memories{"128Mi", "1Gi", "3G"};
  std::mt19937 random(17);
  const auto make = [&](int i) {
    return pod(uuid(i), nodes[random() % nodes.size()], cpus[random() % cpus.size()],
               memories[random() % memories.size()], random() % 5 == 0);
  };

  std::vector<json::value> page;
  for (int i = 0; i < 200; ++i) {
    live[uuid(i)] = make(i);
    page.push_back(live[uuid(i)]);
  }
  REQUIRE(pods.replace(page).has_value());
  // 4 cpus (100m counts as the init container's 200m) x 3 memories at most.
  CHECK(pods.request_rows() <= 12);

  for (int step = 0; step < 600; ++step) {
    const int i = static_cast<int>(random() % 260);
    const auto roll = random() % 4;
    if (roll == 0) {
      live.erase(uuid(i));
      REQUIRE(pods.apply(kube::WatchEventType::deleted, pod(uuid(i), "", "0", "0")).has_value());
    } else if (roll == 1 && live.contains(uuid(i))) {
      auto done = live[uuid(i)];
      done.as_object()["status"].as_object()["phase"] = "Succeeded";
      live.erase(uuid(i));
      REQUIRE(pods.apply(kube::WatchEventType::modified, done).has_value());
    } else {
      live[uuid(i)] = make(i);
      REQUIRE(pods.apply(kube::WatchEventType::modified, live[uuid(i)]).has_value());
    }
  }

  std::map<std::string, kube::NodeTotals> expected;
  for (const auto& [uid, object] : live) {
    const auto parsed = kube::parse_pod(object).value();
    auto& totals = expected[parsed.node_name];
    const auto requests = kube::compute_pod_requests(parsed).requests;
    for (const auto& resource : {"cpu", "memory"}) {
      totals.allocated[resource] += requests.at(resource);
      if (parsed.is_daemonset()) {
        totals.daemonset_allocated[resource] += requests.at(resource);
      }
    }
    ++totals.pod_count;
    totals.daemonset_pod_count += parsed.is_daemonset() ? 1 : 0;
  }
  CHECK(pods.pod_count() == live.size());
  for (const auto& node : nodes) {
    INFO(node);
    const auto* got = pods.node(node);
    if (!expected.contains(node)) {
      CHECK(got == nullptr);
      continue;
    }
    const auto& want = expected[node];
    REQUIRE(got != nullptr);
    CHECK(got->pod_count == want.pod_count);
    CHECK(got->daemonset_pod_count == want.daemonset_pod_count);
    CHECK(got->allocated.at("cpu") == want.allocated.at("cpu"));
    CHECK(got->allocated.at("memory") == want.allocated.at("memory"));
    CHECK(got->allocated.at("pods") == kube::Quantity::from_units(want.pod_count));
    if (want.daemonset_pod_count > 0) {
      CHECK(got->daemonset_allocated.at("cpu") == want.daemonset_allocated.at("cpu"));
      CHECK(got->daemonset_allocated.at("memory") == want.daemonset_allocated.at("memory"));
    }
  }

  // Every pod gone: no node totals and no rows left behind.
  for (const auto& [uid, object] : live) {
    REQUIRE(pods.apply(kube::WatchEventType::deleted, object).has_value());
  }
  CHECK(pods.pod_count() == 0);
  CHECK(pods.request_rows() == 0);
  for (const auto& node : nodes) {
    CHECK(pods.node(node) == nullptr);
  }
}

TEST_CASE("cluster pods: a relist replaces the pods and gives back the rows only the old ones held") {
  ClusterPods pods({"cpu", "memory"}, kube::ResizeSemantics::per_container, [] {});
  REQUIRE(pods.replace({pod(uuid(1), "n1", "4", "1Gi"), pod(uuid(2), "n1", "5", "1Gi")}).has_value());
  CHECK(pods.request_rows() == 2);
  pods.begin_pages();
  REQUIRE(pods.add_page({pod(uuid(2), "n2", "5", "1Gi"), pod("not-a-uuid", "n2", "5", "1Gi")}).has_value());
  // The same pod twice in a list (pages restarting): the later one counts, once.
  REQUIRE(pods.add_page({pod(uuid(3), "n2", "6", "2Gi"), pod(uuid(3), "n2", "7", "2Gi")}).has_value());
  CHECK(pods.node("n1")->allocated.at("cpu") == q("9"));  // nothing replaced before the list ends
  REQUIRE(pods.finish_pages().has_value());
  CHECK(pods.pod_count() == 3);
  CHECK(pods.node("n1") == nullptr);
  CHECK(pods.node("n2")->allocated.at("cpu") == q("17"));
  CHECK(pods.node("n2")->allocated.at("memory") == q("4Gi"));
  CHECK(pods.request_rows() == 2);  // 5/1Gi twice, 7/2Gi; 4/1Gi and 6/2Gi are gone
}
