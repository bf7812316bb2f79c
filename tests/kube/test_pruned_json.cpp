#include "kube/pruned_json.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <catch2/catch.hpp>

#include <random>
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

namespace {

// A list whose text has every kind of token a piece can end inside: escaped and multi-byte UTF-8
// strings and keys, numbers of each type, literals, pruned members (skipped while split), and the
// list's metadata after its items.
std::string stream_list_text() {
  return R"({"kind":"PodList","items":[)" + pod_text +
         R"(,{"metadata":{"name":"caf\u00e9-\"q\"","annotations":{"k\\ey":"é ✓ 𝄞","kubectl.kubernetes.io/last-applied-configuration":"{\"a\":[1,2]}"}},)"
         R"("spec":{"containers":[{"name":"c","env":[{"name":"E","value":"}]{["}]}],"n":[-0,1.5e10,-2E-3,0,18446744073709551615,-9223372036854775808]}},)"
         R"(true,false,null,"s",-17,[[[]]],{}],"metadata":{"resourceVersion":"77","continue":"tok\/en"}})";
}

struct Fed {
  std::vector<std::string> items;  // serialized, in the order handed on
  std::string resource_version;
  std::string continue_token;
  std::string error;
  bool operator==(const Fed&) const = default;
};

// Feeds `text` cut at `cuts` (ascending offsets), then finishes.
Fed feed(std::string_view text, const std::vector<std::size_t>& cuts) {
  Fed out;
  ListStreamParser parser([&](json::value item) { out.items.push_back(json::serialize(item)); });
  std::size_t at = 0;
  auto ends = cuts;
  ends.push_back(text.size());
  for (const auto end : ends) {
    if (auto written = parser.write(text.substr(at, end - at)); !written) {
      out.error = written.error().message;
      return out;
    }
    at = end;
  }
  auto head = parser.finish();
  if (!head) {
    out.error = head.error().message;
    return out;
  }
  out.resource_version = head->resource_version;
  out.continue_token = head->continue_token;
  return out;
}

std::vector<std::size_t> every(std::size_t step, std::size_t size) {
  std::vector<std::size_t> cuts;
  for (std::size_t at = step; at < size; at += step) {
    cuts.push_back(at);
  }
  return cuts;
}

}  // namespace

TEST_CASE("a list fed in pieces of any size, split anywhere, gives exactly what it gives whole") {
  const auto text = stream_list_text();
  Fed whole;
  auto head = parse_list_items(text, [&](json::value item) { whole.items.push_back(json::serialize(item)); });
  REQUIRE(head.has_value());
  whole.resource_version = head->resource_version;
  whole.continue_token = head->continue_token;
  // What the whole text gives, to be sure the comparisons below compare something.
  REQUIRE(whole.items.size() == 9);
  CHECK(whole.items[0] == json::serialize(expected_pod()));
  CHECK(whole.items[1].find("last-applied") == std::string::npos);
  CHECK(whole.items[1].find("\"E\"") == std::string::npos);
  CHECK(whole.items[1].find("é ✓ 𝄞") != std::string::npos);
  CHECK(whole.resource_version == "77");
  CHECK(whole.continue_token == "tok/en");
  CHECK(feed(text, {}) == whole);

  for (std::size_t step = 1; step <= text.size(); ++step) {
    INFO("pieces of " << step << " bytes");
    REQUIRE(feed(text, every(step, text.size())) == whole);
  }
  std::mt19937 random(17);
  for (int round = 0; round < 2000; ++round) {
    std::uniform_int_distribution<std::size_t> count(1, 40);
    std::uniform_int_distribution<std::size_t> offset(0, text.size());
    std::vector<std::size_t> cuts(count(random));
    for (auto& c : cuts) {
      c = offset(random);
    }
    std::sort(cuts.begin(), cuts.end());  // a repeated offset is an empty piece
    INFO("round " << round);
    REQUIRE(feed(text, cuts) == whole);
  }
}

TEST_CASE("a list fed in pieces fails as it does whole: cut short, followed by text, or malformed") {
  const auto text = stream_list_text();
  Fed whole;
  REQUIRE(parse_list_items(text, [&](json::value item) { whole.items.push_back(json::serialize(item)); }).has_value());
  // Cut short anywhere, byte by byte or in 7-byte pieces: what it gave so far, then an error.
  for (std::size_t size = 0; size < text.size(); ++size) {
    INFO("the first " << size << " bytes");
    for (const std::size_t step : {std::size_t{1}, std::size_t{7}}) {
      const auto fed = feed(text.substr(0, size), every(step, size));
      REQUIRE(fed.error == "response is not a JSON object");
      REQUIRE(fed.items.size() <= whole.items.size());
      REQUIRE(std::equal(fed.items.begin(), fed.items.end(), whole.items.begin()));
    }
  }
  CHECK(feed(text + " \r\n", every(1, text.size() + 3)).error.empty());
  CHECK(feed(text + " {}", every(1, text.size() + 3)).error == "response is not a JSON object");
  CHECK(feed(R"({"items":{"a":1}})", every(1, 17)).error == "items is not an array");
  CHECK(feed("[1,2]", every(1, 5)).error == "response is not a JSON object");
  const auto bad = feed(R"({"items":[{"a":1},{"b":})", every(3, 23));
  CHECK(bad.error == "response is not a JSON object");
  CHECK(bad.items == std::vector<std::string>{R"({"a":1})"});
}
