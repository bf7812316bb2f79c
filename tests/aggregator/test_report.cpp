// Reading agents' reports: the agent's own document shape is accepted; everything that would make
// a sum wrong is rejected with a reason, and never throws.

#include "aggregator/report.hpp"
#include "common/rfc3339.hpp"

#include <catch2/catch.hpp>

using namespace nodepack;
using namespace nodepack::aggregator;
using kube::Quantity;

namespace {

// The shape agent/node_report.cpp writes.
const std::string good = R"({"schema_version":1,"node":"n1","labels":{"zone":"a"},"node_known":true,
  "allocatable":{"cpu":"3920m","memory":"16106127360","pods":"110"},
  "allocated":{"cpu":"1850m","memory":"1257959552","pods":"3"},
  "daemonset_allocated":{"cpu":"100m","memory":"50M","pods":"1"},
  "pod_count":3,"daemonset_pod_count":1,"numa_zones":[],"synced":true,"generation":42,
  "built_at":"2026-11-25T05:00:00Z"})";

std::string with(std::string_view field, std::string_view replacement) {
  std::string out = good;
  const auto start = out.find("\"" + std::string(field) + "\":");
  REQUIRE(start != std::string::npos);
  auto end = start + field.size() + 3;
  int depth = 0;
  for (; end < out.size(); ++end) {
    const char c = out[end];
    if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (depth == 0) {
        break;
      }
      --depth;
    } else if (c == ',' && depth == 0) {
      break;
    }
  }
  out.replace(start, end - start, replacement);
  return out;
}

}  // namespace

TEST_CASE("an agent's report is read exactly") {
  auto r = parse_report(good, "n1");
  REQUIRE(r.has_value());
  CHECK(r->node == "n1");
  CHECK(r->allocatable.at("cpu") == Quantity::from_milli(3920));
  CHECK(r->allocated.at("cpu") == Quantity::from_milli(1850));
  CHECK(r->allocated.at("pods") == Quantity::from_units(3));
  CHECK(r->daemonset_allocated.at("memory") == Quantity::from_units(50'000'000));
  CHECK(r->pod_count == 3);
  CHECK(r->daemonset_pod_count == 1);
  CHECK(r->generation == 42);
  CHECK(r->built_at == *parse_rfc3339("2026-11-25T05:00:00Z"));
  // Without an expected node (a static --agents entry), any node name is taken.
  CHECK(parse_report(good, "").has_value());
}

TEST_CASE("a report without a pods entry counts its pods from pod_count") {
  auto r = parse_report(with("allocated", R"("allocated":{"cpu":"1"})"), "n1");
  REQUIRE(r.has_value());
  CHECK(r->allocated.at("pods") == Quantity::from_units(3));
}

TEST_CASE("bad reports are rejected by reason") {
  struct Case {
    std::string body;
    PullError reason;
  };
  const std::vector<Case> cases{
      {"{not json", PullError::malformed},
      {"", PullError::malformed},
      {"[1,2]", PullError::schema},
      {with("node", R"("node":7)"), PullError::schema},
      {with("node", R"("node":"")"), PullError::schema},
      {with("pod_count", R"("pod_count":"3")"), PullError::schema},
      {with("pod_count", R"("pod_count":-1)"), PullError::schema},
      {with("pod_count", R"("pod_count":1.5)"), PullError::schema},
      {with("allocated", R"("allocated":[])"), PullError::schema},
      {with("allocated", R"("allocated":{"cpu":1.5})"), PullError::schema},
      {with("allocated", R"("allocated":{"cpu":"lots"})"), PullError::schema},
      {with("allocated", R"("x":1)"), PullError::schema},
      {with("labels", R"("labels":{"zone":1})"), PullError::schema},
      {with("built_at", R"("built_at":"yesterday")"), PullError::schema},
      {with("built_at", R"("built_at":"2026-11-25T05:00:00+ab:cd")"), PullError::schema},
      {with("built_at", R"("built_at":"2026-11-25T05:00:00+--:--")"), PullError::schema},
      {with("built_at", R"("built_at":12)"), PullError::schema},
      {with("synced", R"("synced":"yes")"), PullError::schema},
      {with("schema_version", R"("schema_version":2)"), PullError::schema},
      {with("node", R"("node":"n2")"), PullError::wrong_node},
      {with("synced", R"("synced":false)"), PullError::not_synced},
  };
  for (const auto& c : cases) {
    INFO(c.body);
    auto r = parse_report(c.body, "n1");
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().reason == c.reason);
    CHECK_FALSE(r.error().message.empty());
    CHECK(is_invalid_report(c.reason) == (c.reason != PullError::not_synced));
  }
}
