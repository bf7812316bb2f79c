// The aggregator's own per-node figures from a cluster-wide pod watch: per-event totals with the
// agent's request rule, pages, finished and unbound pods, DaemonSet overhead, the resize rule.

#include "aggregator/cluster_pods.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

using namespace nodepack;
using namespace nodepack::aggregator;
namespace json = boost::json;

namespace {

json::value pod(const std::string& name, const std::string& node, const std::string& cpu, const std::string& phase,
                bool daemonset = false) {
  return json::value{
      {"metadata",
       {{"name", name},
        {"namespace", "default"},
        {"uid", "uid-" + name},
        {"ownerReferences", json::array{{{"kind", daemonset ? "DaemonSet" : "ReplicaSet"}, {"name", "o"}}}}}},
      {"spec",
       {{"nodeName", node},
        {"containers",
         json::array{{{"name", "app"}, {"resources", {{"requests", {{"cpu", cpu}, {"memory", "1Gi"}}}}}}}}}},
      {"status", {{"phase", phase}}}};
}

kube::Quantity q(const char* text) { return kube::Quantity::parse(text).value(); }

kube::Quantity allocated(const ClusterPods& pods, const std::string& node, const std::string& resource) {
  const auto* t = pods.node(node);
  if (t == nullptr) {
    return {};
  }
  const auto it = t->allocated.find(resource);
  return it == t->allocated.end() ? kube::Quantity() : it->second;
}

}  // namespace

TEST_CASE("cluster pods: per-event node totals with the agent's rules") {
  int changes = 0;
  ClusterPods pods({"cpu", "memory", "pods"}, kube::ResizeSemantics::per_container, [&] { ++changes; });
  REQUIRE(pods.takes_pages());
  pods.begin_pages();
  REQUIRE(pods.add_page({pod("a", "n1", "250m", "Running"), pod("ds", "n1", "100m", "Running", true)}).has_value());
  REQUIRE(pods.add_page({pod("b", "n2", "1", "Pending"), pod("done", "n1", "2", "Succeeded"),
                         pod("unbound", "", "3", "Pending")})
              .has_value());
  CHECK(pods.node("n1") == nullptr);  // nothing replaced before the list ends
  REQUIRE(pods.finish_pages().has_value());
  CHECK(changes == 1);
  CHECK(pods.pod_count() == 3);  // finished and unbound pods hold nothing
  CHECK(allocated(pods, "n1", "cpu") == q("350m"));
  CHECK(allocated(pods, "n1", "memory") == q("2Gi"));
  CHECK(allocated(pods, "n1", "pods") == q("2"));
  CHECK(pods.node("n1")->daemonset_allocated.at("cpu") == q("100m"));
  CHECK(pods.node("n1")->daemonset_pod_count == 1);
  CHECK(allocated(pods, "n2", "cpu") == q("1"));

  // Events: a status update with the same figures changes nothing; a resize, a finish, a move.
  REQUIRE(pods.apply(kube::WatchEventType::modified, pod("a", "n1", "250m", "Running")).has_value());
  CHECK(changes == 1);
  REQUIRE(pods.apply(kube::WatchEventType::modified, pod("a", "n1", "750m", "Running")).has_value());
  CHECK(allocated(pods, "n1", "cpu") == q("850m"));
  REQUIRE(pods.apply(kube::WatchEventType::modified, pod("b", "n2", "1", "Failed")).has_value());
  CHECK(pods.node("n2") == nullptr);  // its last pod finished: no residue
  REQUIRE(pods.apply(kube::WatchEventType::added, pod("c", "n2", "500m", "Running")).has_value());
  REQUIRE(pods.apply(kube::WatchEventType::deleted, pod("a", "n1", "750m", "Running")).has_value());
  CHECK(allocated(pods, "n1", "cpu") == q("100m"));
  CHECK(allocated(pods, "n2", "cpu") == q("500m"));
  CHECK_FALSE(pods.apply(kube::WatchEventType::added, json::value{{"spec", 1}}).has_value());
  CHECK(pods.pod_count() == 2);
}

TEST_CASE("cluster pods: the in-place resize rule moves only pods under a resize") {
  // kubernetes/kubernetes#140046's pod: per-container 4 cores, max of sums 3.
  auto resized = pod("r", "n1", "1", "Running");
  resized.as_object()["spec"].as_object()["containers"] =
      json::array{{{"name", "c1"}, {"resources", {{"requests", {{"cpu", "1"}}}}}},
                  {{"name", "c2"}, {"resources", {{"requests", {{"cpu", "2"}}}}}}};
  resized.as_object()["status"].as_object()["containerStatuses"] = json::array{
      {{"name", "c1"}, {"allocatedResources", {{"cpu", "2"}}}, {"resources", {{"requests", {{"cpu", "2"}}}}}},
      {{"name", "c2"}, {"allocatedResources", {{"cpu", "1"}}}, {"resources", {{"requests", {{"cpu", "1"}}}}}}};
  ClusterPods pods({"cpu"}, kube::ResizeSemantics::per_container, [] {});
  REQUIRE(pods.replace({resized, pod("plain", "n1", "500m", "Running")}).has_value());
  CHECK(allocated(pods, "n1", "cpu") == q("4500m"));
  pods.set_semantics(kube::ResizeSemantics::max_of_sums);
  CHECK(allocated(pods, "n1", "cpu") == q("3500m"));
  pods.set_semantics(kube::ResizeSemantics::per_container);
  CHECK(allocated(pods, "n1", "cpu") == q("4500m"));
}
