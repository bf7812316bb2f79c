#include "kube/pruned_json.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace nodepack::kube;
namespace json = boost::json;

namespace {

// A pod as a real cluster sends it, with every member the parser drops and look-alikes it keeps.
const std::string pod_text = R"({
  "metadata": {
    "name": "api-1", "namespace": "web", "uid": "u1",
    "labels": {"env": "prod", "managedFields": "a label, kept"},
    "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"big\":\"manifest\"}", "team": "a"},
    "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:spec": {"f:containers": {}}}}]
  },
  "spec": {
    "nodeName": "n1",
    "containers": [
      {"name": "app", "env": [{"name": "A", "value": "1"}], "resources": {"requests": {"cpu": "100m"}}},
      {"name": "side", "env": []}
    ],
    "initContainers": [{"name": "init", "env": [{"name": "B", "valueFrom": {"fieldRef": {"fieldPath": "x"}}}]}],
    "env": "not a container's, kept",
    "priority": -5, "big": 18446744073709551615, "ratio": 0.5, "hostNetwork": false, "x": null
  },
  "status": {"phase": "Running", "containerStatuses": [{"name": "app", "restartCount": 2}]}
})";

// The same pod with the pruned members erased by hand.
json::value expected_pod() {
  auto v = json::parse(pod_text);
  auto& metadata = v.at("metadata").as_object();
  metadata.erase("managedFields");
  metadata.at("annotations").as_object().erase("kubectl.kubernetes.io/last-applied-configuration");
  auto& spec = v.at("spec").as_object();
  for (const char* list : {"containers", "initContainers"}) {
    for (auto& c : spec.at(list).as_array()) {
      c.as_object().erase("env");
    }
  }
  return v;
}

}  // namespace

TEST_CASE("a document is parsed without managedFields, the last-applied annotation and containers' env") {
  auto parsed = parse_pruned(pod_text);
  REQUIRE(parsed.has_value());
  CHECK(json::serialize(*parsed) == json::serialize(expected_pod()));
  // Types survive as the full parser makes them.
  const auto& spec = parsed->at("spec").as_object();
  CHECK(spec.at("priority").is_int64());
  CHECK(spec.at("big").is_uint64());
  CHECK(spec.at("ratio").is_double());
  CHECK(spec.at("hostNetwork").is_bool());
  CHECK(spec.at("x").is_null());

  const std::string event = R"({"type":"MODIFIED","object":)" + pod_text + "}\r";
  auto watched = parse_pruned(event);
  REQUIRE(watched.has_value());
  CHECK(json::serialize(watched->at("object")) == json::serialize(expected_pod()));
  CHECK(watched->at("type") == "MODIFIED");

  CHECK_FALSE(parse_pruned("{\"type\":").has_value());
  CHECK_FALSE(parse_pruned("{} {}").has_value());
  auto scalar = parse_pruned("42");
  REQUIRE(scalar.has_value());
  CHECK(*scalar == 42);
}

TEST_CASE("a list's items are handed on one by one, pruned, with the list's resourceVersion and continue token") {
  const std::string list = R"({"kind":"PodList","apiVersion":"v1",
    "metadata":{"resourceVersion":"123","continue":"next-page","remainingItemCount":4},
    "items":[)" + pod_text +
                           "," + pod_text + R"(, 7, []]})";
  std::vector<json::value> items;
  auto head = parse_list_items(list, [&](json::value item) { items.push_back(std::move(item)); });
  REQUIRE(head.has_value());
  CHECK(head->resource_version == "123");
  CHECK(head->continue_token == "next-page");
  REQUIRE(items.size() == 4);
  CHECK(json::serialize(items[0]) == json::serialize(expected_pod()));
  CHECK(json::serialize(items[1]) == json::serialize(expected_pod()));
  CHECK(items[2] == 7);
  CHECK(items[3] == json::array{});

  // The items' own metadata is not the list's.
  items.clear();
  head = parse_list_items(R"({"items":[{"metadata":{"resourceVersion":"9","continue":"x"}}],"metadata":{}})",
                          [&](json::value item) { items.push_back(std::move(item)); });
  REQUIRE(head.has_value());
  CHECK(head->resource_version.empty());
  CHECK(head->continue_token.empty());
  CHECK(items.size() == 1);
}

TEST_CASE("a list with no items, or whose items or text are malformed") {
  int calls = 0;
  const auto count = [&](json::value) { ++calls; };
  auto empty = parse_list_items(R"({"metadata":{"resourceVersion":"5"},"items":null})", count);
  REQUIRE(empty.has_value());
  CHECK(empty->resource_version == "5");
  CHECK(parse_list_items(R"({"metadata":{}})", count).has_value());
  CHECK(calls == 0);

  auto object_items = parse_list_items(R"({"items":{"a":1}})", count);
  REQUIRE_FALSE(object_items.has_value());
  CHECK(object_items.error().message == "items is not an array");
  auto string_items = parse_list_items(R"({"items":"x"})", count);
  REQUIRE_FALSE(string_items.has_value());
  CHECK(string_items.error().message == "items is not an array");

  for (const char* text : {"[1,2]", "\"x\"", "{\"items\":[", "not json"}) {
    auto bad = parse_list_items(text, count);
    REQUIRE_FALSE(bad.has_value());
    CHECK(bad.error().message == "response is not a JSON object");
  }
}
