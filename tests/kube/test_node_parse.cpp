#include "kube/node.hpp"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

using namespace nodepack::kube;

TEST_CASE("node parse reads name, labels, allocatable and capacity exactly") {
  auto node = parse_node(boost::json::parse(R"({"metadata":{"name":"n1","uid":"u","resourceVersion":"7",
    "labels":{"topology.kubernetes.io/zone":"zone-a"}},
    "status":{"allocatable":{"cpu":"3920m","memory":"15Gi","pods":"110","nvidia.com/gpu":"2","hugepages-2Mi":"0"},
              "capacity":{"cpu":"4","memory":"16393248Ki"}}})"));
  REQUIRE(node.has_value());
  CHECK(node->name == "n1");
  CHECK(node->resource_version == "7");
  CHECK(node->labels.at("topology.kubernetes.io/zone") == "zone-a");
  CHECK(node->allocatable.at("cpu").milli_value_ceil() == 3920);
  CHECK(node->allocatable.at("memory").value_ceil() == 16106127360);
  CHECK(node->allocatable.at("pods").value_ceil() == 110);
  CHECK(node->allocatable.at("nvidia.com/gpu").value_ceil() == 2);
  CHECK(node->capacity.at("memory").value_ceil() == 16393248LL * 1024);
}

TEST_CASE("node parse errors name the node and field") {
  auto no_name = parse_node(boost::json::parse(R"({"metadata":{}})"));
  REQUIRE_FALSE(no_name.has_value());
  CHECK(no_name.error().message == "node: missing metadata.name");
  auto bad_quantity =
      parse_node(boost::json::parse(R"({"metadata":{"name":"n1"},"status":{"allocatable":{"cpu":"4 cores"}}})"));
  REQUIRE_FALSE(bad_quantity.has_value());
  CHECK(bad_quantity.error().message.find("node n1: status.allocatable") == 0);
  auto bad_labels = parse_node(boost::json::parse(R"({"metadata":{"name":"n1","labels":{"a":1}}})"));
  REQUIRE_FALSE(bad_labels.has_value());
  CHECK(bad_labels.error().message == "node n1: metadata.labels: value of \"a\" is not a string");
  CHECK_FALSE(parse_node(boost::json::parse("[]")).has_value());
}
