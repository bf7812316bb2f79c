// What users of the tools nodepack replaces type: kpod-metrics' filters and labels (nodepack's
// flag names, kpod's property names as aliases, kpod's defaults, refusals at parse time), and
// numainfo_exporter's short flags and $NUMAINFO_NODENAME.
#include "agent/agent_options.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>

using namespace nodepack::agent;

TEST_CASE("agent options: kpod filters default to kpod-metrics' own") {
  auto o = parse_agent_options({}, "n");
  REQUIRE(o.has_value());
  CHECK(o->kpod_scope.namespaces.empty());
  CHECK(o->kpod_scope.exclude_namespaces == std::vector<std::string>{"kube-system", "kube-public"});
  CHECK(o->kpod_scope.label_selector.empty());
  CHECK(o->kpod_scope.include_labels == std::vector<std::string>{"app", "app.kubernetes.io/name"});
  CHECK(o->kpod_scope.cluster.empty());
}

TEST_CASE("agent options: kpod filters under nodepack's names and kpod-metrics' names") {
  auto ours = parse_agent_options(
      {"--kpod.namespaces=a,b", "--kpod.exclude-namespaces=", "--kpod.label-selector=app!=x",
       "--kpod.include-labels=team,app.kubernetes.io/part-of", "--cluster-name=eu-1", "--profile=minimal"},
      "n");
  auto theirs = parse_agent_options(
      {"--kpod.filter.namespaces=a,b", "--kpod.filter.exclude-namespaces=", "--kpod.filter.label-selector=app!=x",
       "--kpod.filter.include-labels=team,app.kubernetes.io/part-of", "--kpod.cluster-name=eu-1",
       "--kpod.profile=minimal"},
      "n");
  for (const auto* o : {&ours, &theirs}) {
    REQUIRE(o->has_value());
    const auto& s = (*o)->kpod_scope;
    CHECK(s.namespaces == std::vector<std::string>{"a", "b"});
    CHECK(s.exclude_namespaces.empty());
    CHECK(s.label_selector == "app!=x");
    CHECK(s.include_labels == std::vector<std::string>{"team", "app.kubernetes.io/part-of"});
    CHECK(s.cluster == "eu-1");
    CHECK((*o)->profile == nodepack::kpod::Profile::minimal);
  }
}

TEST_CASE("agent options: a bad selector or a clashing copied label is refused at start") {
  auto bad = parse_agent_options({"--kpod.label-selector=env in prod"}, "n");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().message.starts_with("--kpod.*: label selector \"env in prod\""));
  auto clash = parse_agent_options({"--kpod.include-labels=pod"}, "n");
  REQUIRE_FALSE(clash.has_value());
  CHECK(clash.error().message ==
        "--kpod.*: include-labels: pod label \"pod\" would become the label \"pod\", which nodepack sets itself or "
        "Prometheus reserves");
}

TEST_CASE("agent options: numainfo_exporter's -K, -N and -M") {
  auto o = parse_agent_options({"-K", "/var/tmp", "-N", "test.k8s.io", "-M"}, "");
  REQUIRE(o.has_value());
  CHECK(o->paths.kubelet_root == "/var/tmp");
  CHECK(o->node_name == "test.k8s.io");
  CHECK(o->dump_numa);
  auto plain = parse_agent_options({}, "n");
  REQUIRE(plain.has_value());
  CHECK_FALSE(plain->dump_numa);
}

TEST_CASE("agent options: the node name from $NODE_NAME, else numainfo_exporter's $NUMAINFO_NODENAME") {
  const char* saved = std::getenv("NODE_NAME");
  const std::string saved_value = saved != nullptr ? saved : "";
  ::unsetenv("NODE_NAME");
  ::setenv("NUMAINFO_NODENAME", "numa-node", 1);
  CHECK(node_name_from_environment() == "numa-node");
  ::setenv("NODE_NAME", "downward", 1);
  CHECK(node_name_from_environment() == "downward");
  ::unsetenv("NUMAINFO_NODENAME");
  ::unsetenv("NODE_NAME");
  CHECK(node_name_from_environment().empty());
  if (saved != nullptr) {
    ::setenv("NODE_NAME", saved_value.c_str(), 1);
  }
}
