// kpod-metrics' filters and extra labels: which pods get kpod_* series, and with what labels.
#include "kpod/scope/pod_scope.hpp"

#include <catch2/catch.hpp>

namespace nk = nodepack::kpod;
using nodepack::cgroup::PodIdentity;

namespace {

PodIdentity pod(std::string ns, nodepack::cgroup::LabelMap labels = {}) {
  return PodIdentity{std::move(ns), "p", "c", "uid", std::move(labels)};
}

bool selects(std::string_view selector, nodepack::cgroup::LabelMap labels) {
  return nk::LabelSelector::parse(selector).value().matches(labels);
}

std::string render(const nodepack::metrics::Labels& labels) {
  std::string out;
  for (const auto& l : labels) {
    out += l.name + "=" + l.value + ";";
  }
  return out;
}

}  // namespace

TEST_CASE("label selector: kpod's forms and the set-based ones, as Kubernetes reads them") {
  CHECK(selects("", {}));
  CHECK(selects("app=web", {{"app", "web"}}));
  CHECK(selects("app==web", {{"app", "web"}}));
  CHECK_FALSE(selects("app=web", {{"app", "db"}}));
  CHECK_FALSE(selects("app=web", {}));
  CHECK(selects("app!=web", {{"app", "db"}}));
  CHECK(selects("app!=web", {}));  // != matches pods without the key, as in Kubernetes
  CHECK(selects("tier", {{"tier", ""}}));
  CHECK_FALSE(selects("tier", {{"app", "x"}}));
  CHECK(selects("!tier", {{"app", "x"}}));
  CHECK_FALSE(selects("!tier", {{"tier", "x"}}));
  CHECK(selects("env in (prod, staging)", {{"env", "staging"}}));
  CHECK_FALSE(selects("env in (prod,staging)", {{"env", "dev"}}));
  CHECK(selects("env notin (prod)", {}));
  CHECK_FALSE(selects("env notin (prod)", {{"env", "prod"}}));
  // Every requirement must hold; commas inside a set do not split requirements.
  CHECK(selects("app=web, env in (a,b), !debug", {{"app", "web"}, {"env", "b"}}));
  CHECK_FALSE(selects("app=web, env in (a,b), !debug", {{"app", "web"}, {"env", "b"}, {"debug", "1"}}));
  CHECK(selects("app.kubernetes.io/name=api", {{"app.kubernetes.io/name", "api"}}));

  CHECK(nk::LabelSelector::parse("app=x=y").error().message == "label selector \"app=x=y\": bad value \"x=y\"");
  CHECK_FALSE(nk::LabelSelector::parse("env in prod").has_value());
  CHECK_FALSE(nk::LabelSelector::parse("env between (a)").has_value());
  CHECK_FALSE(nk::LabelSelector::parse("a,,b").has_value());
}

TEST_CASE("pod label keys become Prometheus label names") {
  CHECK(nk::prometheus_label_name("app") == "app");
  CHECK(nk::prometheus_label_name("app.kubernetes.io/name") == "app_kubernetes_io_name");
  CHECK(nk::prometheus_label_name("team-name") == "team_name");
  CHECK(nk::prometheus_label_name("9lives") == "_9lives");
}

TEST_CASE("pod scope: kpod's defaults leave out kube-system and kube-public only") {
  auto scope = nk::PodScope::create(nk::PodScopeOptions{}).value();
  CHECK(scope.filters());
  CHECK_FALSE(scope.tracks(pod("kube-system")));
  CHECK_FALSE(scope.tracks(pod("kube-public")));
  CHECK(scope.tracks(pod("default")));
  CHECK(scope.tracks(pod("kube-node-lease")));
  // Default include-labels: app and app.kubernetes.io/name, when the pod has them.
  CHECK(render(scope.labels(pod("default", {{"app", "web"}, {"app.kubernetes.io/name", "shop"}, {"x", "y"}}), "n1")) ==
        "namespace=default;pod=p;container=c;node=n1;app=web;app_kubernetes_io_name=shop;");
  CHECK(render(scope.labels(pod("default"), "n1")) == "namespace=default;pod=p;container=c;node=n1;");
}

TEST_CASE("pod scope: include and exclude namespaces, selector, copied labels and the cluster") {
  nk::PodScopeOptions o;
  o.namespaces = {"shop", "kube-system"};
  o.exclude_namespaces = {"kube-system"};  // excluding wins over including
  o.label_selector = "tier!=debug";
  o.include_labels = {"team", "app.kubernetes.io/version"};
  o.cluster = "eu-1";
  auto scope = nk::PodScope::create(o).value();
  CHECK(scope.tracks(pod("shop", {{"tier", "web"}})));
  CHECK_FALSE(scope.tracks(pod("shop", {{"tier", "debug"}})));
  CHECK_FALSE(scope.tracks(pod("kube-system")));
  CHECK_FALSE(scope.tracks(pod("default")));
  CHECK(render(scope.labels(pod("shop", {{"team", "a"}, {"app.kubernetes.io/version", "1.2"}}), "n1",
                            {{"syscall", "read"}})) ==
        "namespace=shop;pod=p;container=c;node=n1;cluster=eu-1;team=a;app_kubernetes_io_version=1.2;syscall=read;");
  CHECK(render(scope.node_labels("n1", {{"irq", "eth0"}})) == "irq=eth0;node=n1;cluster=eu-1;");

  // No filter at all: every pod, and the default-constructed scope is the same.
  nk::PodScopeOptions none;
  none.exclude_namespaces = {};
  none.include_labels = {};
  auto open = nk::PodScope::create(none).value();
  CHECK_FALSE(open.filters());
  CHECK(open.tracks(pod("kube-system")));
  CHECK_FALSE(nk::PodScope().filters());
}

TEST_CASE("pod scope: a copied label may not take a label nodepack sets, nor collide with another") {
  nk::PodScopeOptions o;
  o.include_labels = {"namespace"};
  CHECK(nk::PodScope::create(o).error().message ==
        "include-labels: pod label \"namespace\" would become the label \"namespace\", which nodepack sets itself or "
        "Prometheus reserves");
  o.include_labels = {"a.b", "a/b"};
  CHECK(nk::PodScope::create(o).error().message == "include-labels: two pod labels become the same label name \"a_b\"");
  o.include_labels = {"__meta"};
  CHECK_FALSE(nk::PodScope::create(o).has_value());
  o.include_labels = {"app"};
  o.label_selector = "app in (";
  CHECK_FALSE(nk::PodScope::create(o).has_value());
}
