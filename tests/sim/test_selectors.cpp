// Label and field selector parsing and matching, as the API server reads `labelSelector=` and
// `fieldSelector=`.

#include "sim/field_selector.hpp"
#include "sim/label_selector.hpp"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

using nodepack::sim::FieldSelector;
using nodepack::sim::LabelRequirement;
using nodepack::sim::LabelSelector;
namespace json = boost::json;

namespace {

bool selects(const char* selector, const char* labels_json) {
  auto parsed = LabelSelector::parse(selector);
  REQUIRE(parsed.has_value());
  const auto labels = json::parse(labels_json).as_object();
  return parsed->matches(&labels);
}

const std::vector<std::string_view> pod_fields{"metadata.name", "metadata.namespace", "spec.nodeName", "status.phase"};

}  // namespace

TEST_CASE("label selectors parse every operator") {
  auto s = LabelSelector::parse("a=b, c==d,e!=f,g in (y, x, x),h notin (z),i,!j").value();
  const auto& r = s.requirements();
  REQUIRE(r.size() == 7);
  CHECK(r[0].key == "a");
  CHECK(r[0].op == LabelRequirement::Op::equals);
  CHECK(r[0].values == std::vector<std::string>{"b"});
  CHECK(r[1].op == LabelRequirement::Op::equals);
  CHECK(r[2].op == LabelRequirement::Op::not_equals);
  CHECK(r[3].op == LabelRequirement::Op::in);
  CHECK(r[3].values == std::vector<std::string>{"x", "y"});
  CHECK(r[4].op == LabelRequirement::Op::not_in);
  CHECK(r[5].op == LabelRequirement::Op::exists);
  CHECK(r[6].key == "j");
  CHECK(r[6].op == LabelRequirement::Op::does_not_exist);

  CHECK(LabelSelector::parse("").value().empty());
  CHECK(LabelSelector::parse("topology.kubernetes.io/zone in (zone-a,zone-b)").value().requirements()[0].key ==
        "topology.kubernetes.io/zone");
  CHECK(LabelSelector::parse("a=").value().requirements()[0].values == std::vector<std::string>{""});
}

TEST_CASE("bad label selectors are refused with a reason") {
  for (const char* bad : {"a in", "a in (", "a in ()", "a in (x", "a notin x", "=b", "a=b=c", "a b", "!", "a,", ",a",
                          "a > 3", "-a=b", "a=-b", "a/b/c=d", "a==(b)", "a in (x))"}) {
    INFO(bad);
    auto parsed = LabelSelector::parse(bad);
    REQUIRE_FALSE(parsed.has_value());
    CHECK(parsed.error().message.find("label selector") != std::string::npos);
  }
}

TEST_CASE("label selectors match like Kubernetes") {
  const char* labels = R"({"app":"web","tier":"front","zone":"a"})";
  CHECK(selects("app=web", labels));
  CHECK(selects("app==web,tier=front", labels));
  CHECK_FALSE(selects("app=web,tier=back", labels));
  CHECK(selects("app!=db", labels));
  CHECK(selects("missing!=x", labels));  // absent satisfies !=
  CHECK(selects("zone in (a,b)", labels));
  CHECK_FALSE(selects("zone in (b,c)", labels));
  CHECK_FALSE(selects("missing in (a)", labels));
  CHECK(selects("zone notin (b)", labels));
  CHECK(selects("missing notin (b)", labels));  // absent satisfies notin
  CHECK_FALSE(selects("zone notin (a)", labels));
  CHECK(selects("app", labels));
  CHECK_FALSE(selects("!app", labels));
  CHECK(selects("!missing", labels));
  CHECK(selects("", labels));
  CHECK(LabelSelector::parse("!a").value().matches(nullptr));
  CHECK_FALSE(LabelSelector::parse("a").value().matches(nullptr));
}

TEST_CASE("field selectors parse, refuse unsupported fields and match") {
  const auto pod = json::parse(R"({"metadata":{"name":"p1","namespace":"web"},
                                   "spec":{"nodeName":"n1"},"status":{"phase":"Running"}})")
                       .as_object();
  auto match = [&](const char* text) { return FieldSelector::parse(text, pod_fields).value().matches(pod); };
  CHECK(match("spec.nodeName=n1"));
  CHECK(match("spec.nodeName==n1,status.phase!=Succeeded"));
  CHECK_FALSE(match("spec.nodeName=n2"));
  CHECK_FALSE(match("status.phase!=Running"));
  CHECK(match("metadata.name=p1,metadata.namespace=web"));
  CHECK(match(""));
  const auto unscheduled = json::parse(R"({"metadata":{"name":"p2"},"spec":{}})").as_object();
  CHECK(FieldSelector::parse("spec.nodeName=", pod_fields).value().matches(unscheduled));

  auto escaped = FieldSelector::parse(R"(metadata.name=a\,b)", pod_fields).value();
  REQUIRE(escaped.requirements().size() == 1);
  CHECK(escaped.requirements()[0].value == "a,b");

  auto unsupported = FieldSelector::parse("spec.schedulerName=x", pod_fields);
  REQUIRE_FALSE(unsupported.has_value());
  CHECK(unsupported.error().message == "field label not supported: spec.schedulerName");
  CHECK_FALSE(FieldSelector::parse("spec.nodeName", pod_fields).has_value());
  CHECK_FALSE(FieldSelector::parse("=x", pod_fields).has_value());
}
