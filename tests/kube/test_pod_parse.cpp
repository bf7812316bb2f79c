#include "kube/pod.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <string>

using nodepack::kube::parse_pod;
using nodepack::kube::Pod;
using nodepack::kube::Quantity;

namespace {

Quantity q(const char* text) { return Quantity::parse(text).value(); }

// A pod as the API server returns it for a sidecar-injected Deployment replica mid-resize, with
// fields nodepack does not read left in to show they are ignored.
constexpr const char* kFullPod = R"({
  "kind": "Pod", "apiVersion": "v1",
  "metadata": {
    "name": "web-7d9f8b6c5-x2x9q", "namespace": "shop", "uid": "3f1c2b9e-0000-4000-8000-000000000001",
    "resourceVersion": "918273", "creationTimestamp": "2025-03-01T10:00:00Z",
    "deletionTimestamp": "2025-03-01T12:00:00Z", "deletionGracePeriodSeconds": 30,
    "labels": {"app": "web", "pod-template-hash": "7d9f8b6c5"},
    "annotations": {"kubectl.kubernetes.io/restartedAt": "2025-03-01T09:59:00Z"},
    "ownerReferences": [
      {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d9f8b6c5", "uid": "r1", "controller": true}
    ]
  },
  "spec": {
    "nodeName": "node-a",
    "overhead": {"cpu": "250m", "memory": "120Mi"},
    "resources": {"requests": {"cpu": "2", "memory": "2Gi"}, "limits": {"cpu": "4"}},
    "initContainers": [
      {"name": "proxy", "image": "envoy:1", "restartPolicy": "Always",
       "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}},
      {"name": "migrate", "image": "app:1", "resources": {"requests": {"cpu": "500m"}, "limits": {"cpu": "1"}}}
    ],
    "containers": [
      {"name": "app", "image": "app:1", "ports": [{"containerPort": 8080}],
       "resources": {"requests": {"cpu": "250m", "memory": "256Mi", "nvidia.com/gpu": 1},
                     "limits": {"memory": "512Mi"}},
       "resizePolicy": [{"resourceName": "cpu", "restartPolicy": "NotRequired"}]},
      {"name": "log", "image": "fluent:1"}
    ]
  },
  "status": {
    "phase": "Running", "qosClass": "Burstable", "hostIP": "10.0.0.5",
    "conditions": [
      {"type": "Ready", "status": "True"},
      {"type": "PodResizePending", "status": "True", "reason": "Infeasible", "message": "Node didn't have enough capacity"}
    ],
    "initContainerStatuses": [
      {"name": "proxy", "containerID": "containerd://aaa", "restartCount": 1, "ready": true,
       "allocatedResources": {"cpu": "100m", "memory": "64Mi"},
       "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}},
      {"name": "migrate", "containerID": "containerd://bbb", "restartCount": 0}
    ],
    "containerStatuses": [
      {"name": "app", "containerID": "containerd://ccc", "restartCount": 3, "ready": true,
       "allocatedResources": {"cpu": "500m", "memory": "256Mi"},
       "resources": {"requests": {"cpu": "400m"}, "limits": {"memory": "512Mi"}}},
      {"name": "log", "containerID": "containerd://ddd", "restartCount": 0, "resources": {}}
    ]
  }
})";

Pod parse_ok(const std::string& text) {
  auto pod = parse_pod(boost::json::parse(text));
  INFO(text);
  if (!pod) {
    FAIL(pod.error().message);
  }
  return *pod;
}

std::string parse_error(const std::string& text) {
  auto pod = parse_pod(boost::json::parse(text));
  INFO(text);
  REQUIRE_FALSE(pod.has_value());
  return pod.error().message;
}

}  // namespace

TEST_CASE("a full pod is parsed field by field", "[pod_parse]") {
  const Pod pod = parse_ok(kFullPod);

  CHECK(pod.name == "web-7d9f8b6c5-x2x9q");
  CHECK(pod.namespace_name == "shop");
  CHECK(pod.key() == "shop/web-7d9f8b6c5-x2x9q");
  CHECK(pod.uid == "3f1c2b9e-0000-4000-8000-000000000001");
  CHECK(pod.resource_version == "918273");
  CHECK(pod.node_name == "node-a");
  CHECK(pod.phase == "Running");
  REQUIRE(pod.deletion_timestamp.has_value());
  CHECK(*pod.deletion_timestamp == "2025-03-01T12:00:00Z");
  CHECK(pod.is_terminating());
  CHECK(pod.labels.size() == 2);
  CHECK(pod.labels.at("app") == "web");
  CHECK(pod.labels.at("pod-template-hash") == "7d9f8b6c5");

  REQUIRE(pod.owner_references.size() == 1);
  CHECK(pod.owner_references[0].kind == "ReplicaSet");
  CHECK(pod.owner_references[0].name == "web-7d9f8b6c5");
  CHECK_FALSE(pod.is_daemonset());

  CHECK(pod.overhead.size() == 2);
  CHECK(pod.overhead.at("cpu") == q("250m"));
  CHECK(pod.overhead.at("memory") == q("120Mi"));
  REQUIRE(pod.pod_level_requests.has_value());
  CHECK(pod.pod_level_requests->at("cpu") == q("2"));
  CHECK(pod.pod_level_requests->at("memory") == q("2Gi"));

  REQUIRE(pod.init_containers.size() == 2);
  CHECK(pod.init_containers[0].name == "proxy");
  CHECK(pod.init_containers[0].restart_policy == "Always");
  CHECK(pod.init_containers[0].is_sidecar());
  CHECK(pod.init_containers[0].requests.at("memory") == q("64Mi"));
  CHECK(pod.init_containers[1].name == "migrate");
  CHECK_FALSE(pod.init_containers[1].restart_policy.has_value());
  CHECK_FALSE(pod.init_containers[1].is_sidecar());
  CHECK(pod.init_containers[1].requests.at("cpu") == q("500m"));
  CHECK(pod.init_containers[1].limits.at("cpu") == q("1"));

  REQUIRE(pod.containers.size() == 2);
  const auto& app = pod.containers[0];
  CHECK(app.name == "app");
  CHECK(app.requests.size() == 3);
  CHECK(app.requests.at("cpu") == q("250m"));
  CHECK(app.requests.at("memory") == q("256Mi"));
  CHECK(app.requests.at("nvidia.com/gpu") == q("1"));  // a JSON number
  CHECK(app.limits.at("memory") == q("512Mi"));
  CHECK(pod.containers[1].name == "log");
  CHECK(pod.containers[1].requests.empty());
  CHECK(pod.containers[1].limits.empty());

  REQUIRE(pod.container_statuses.size() == 2);
  const auto& app_status = pod.container_statuses[0];
  CHECK(app_status.name == "app");
  CHECK(app_status.container_id == "containerd://ccc");
  CHECK(app_status.restart_count == 3);
  REQUIRE(app_status.allocated_resources.has_value());
  CHECK(app_status.allocated_resources->at("cpu") == q("500m"));
  REQUIRE(app_status.resources.has_value());
  REQUIRE(app_status.resources->requests.has_value());
  CHECK(app_status.resources->requests->at("cpu") == q("400m"));
  CHECK(app_status.resources->limits->at("memory") == q("512Mi"));
  // "resources": {} is present but names no requests: the scheduler treats those two differently.
  const auto& log_status = pod.container_statuses[1];
  REQUIRE(log_status.resources.has_value());
  CHECK_FALSE(log_status.resources->requests.has_value());
  CHECK_FALSE(log_status.allocated_resources.has_value());

  REQUIRE(pod.init_container_statuses.size() == 2);
  CHECK(pod.init_container_statuses[0].name == "proxy");
  CHECK(pod.init_container_statuses[0].restart_count == 1);
  CHECK(pod.init_container_statuses[1].name == "migrate");
  CHECK_FALSE(pod.init_container_statuses[1].resources.has_value());

  REQUIRE(pod.conditions.size() == 2);
  CHECK(pod.conditions[0].type == "Ready");
  CHECK(pod.conditions[0].status == "True");
  CHECK(pod.conditions[0].reason.empty());
  CHECK(pod.conditions[1].type == "PodResizePending");
  CHECK(pod.conditions[1].reason == "Infeasible");
  CHECK(pod.resize_infeasible());

  REQUIRE(pod.find_status("proxy") != nullptr);
  CHECK(pod.find_status("proxy")->container_id == "containerd://aaa");
  CHECK(pod.find_status("app")->container_id == "containerd://ccc");
  CHECK(pod.find_status("missing") == nullptr);
}

TEST_CASE("a minimal pod parses with empty defaults", "[pod_parse]") {
  const Pod pod = parse_ok(R"({"metadata": {"name": "p", "namespace": "ns"}})");
  CHECK(pod.name == "p");
  CHECK(pod.node_name.empty());
  CHECK(pod.phase.empty());
  CHECK(pod.containers.empty());
  CHECK(pod.overhead.empty());
  CHECK_FALSE(pod.pod_level_requests.has_value());
  CHECK_FALSE(pod.is_terminating());
  CHECK_FALSE(pod.resize_infeasible());

  // null reads as absent, the way the API server's omitempty fields do.
  const Pod nulls = parse_ok(
      R"({"metadata": {"name": "p", "namespace": "ns", "labels": null, "deletionTimestamp": null},
          "spec": {"containers": null, "overhead": null}, "status": null})");
  CHECK(nulls.labels.empty());
  CHECK_FALSE(nulls.is_terminating());
}

TEST_CASE("DaemonSet ownership and resize conditions", "[pod_parse]") {
  const Pod ds = parse_ok(R"({"metadata": {"name": "agent-x", "namespace": "kube-system",
      "ownerReferences": [{"kind": "Node", "name": "n"}, {"kind": "DaemonSet", "name": "agent"}]}})");
  CHECK(ds.is_daemonset());

  // Deferred is not infeasible; and only the first PodResizePending condition counts.
  const Pod deferred = parse_ok(R"({"metadata": {"name": "p", "namespace": "ns"}, "status": {"conditions": [
      {"type": "PodResizePending", "status": "True", "reason": "Deferred"},
      {"type": "PodResizePending", "status": "True", "reason": "Infeasible"}]}})");
  CHECK_FALSE(deferred.resize_infeasible());
  const Pod other = parse_ok(R"({"metadata": {"name": "p", "namespace": "ns"}, "status": {"conditions": [
      {"type": "PodResizeInProgress", "status": "True", "reason": "Infeasible"}]}})");
  CHECK_FALSE(other.resize_infeasible());
}

TEST_CASE("wrong JSON shapes name the field and the pod", "[pod_parse]") {
  const std::string meta = R"("metadata": {"name": "web", "namespace": "shop"})";
  struct Case {
    std::string json;
    std::string path;
  };
  const Case cases[] = {
      {"{" + meta + R"(, "spec": {"containers": "app"}})", "spec.containers: expected an array, got string"},
      {"{" + meta + R"(, "spec": "x"})", "spec: expected an object"},
      {"{" + meta + R"(, "spec": {"containers": [{"name": "app", "resources": {"requests": {"cpu": "abc"}}}]}})",
       "spec.containers[0].resources.requests: cpu: invalid quantity \"abc\""},
      {"{" + meta + R"(, "spec": {"containers": [{"name": "a"}, {"name": "b", "resources": {"limits": []}}]}})",
       "spec.containers[1].resources.limits: expected an object"},
      {"{" + meta + R"(, "spec": {"initContainers": [{"name": 7}]}})",
       "spec.initContainers[0].name: expected a string"},
      {"{" + meta + R"(, "spec": {"initContainers": [{"name": "s", "restartPolicy": true}]}})",
       "spec.initContainers[0].restartPolicy: expected a string"},
      {"{" + meta + R"(, "spec": {"containers": ["app"]}})", "spec.containers[0]: expected an object"},
      {"{" + meta + R"(, "spec": {"overhead": {"cpu": "1 core"}}})", "spec.overhead: cpu: invalid quantity \"1 core\""},
      {"{" + meta + R"(, "spec": {"resources": {"requests": {"memory": "1Gb"}}}})",
       "spec.resources.requests: memory: invalid quantity \"1Gb\""},
      {"{" + meta + R"(, "spec": {"nodeName": 1}})", "spec.nodeName: expected a string"},
      {"{" + meta + R"(, "status": {"phase": ["Running"]}})", "status.phase: expected a string"},
      {"{" + meta + R"(, "status": {"containerStatuses": [{"name": "a", "restartCount": "3"}]}})",
       "status.containerStatuses[0].restartCount: expected an integer"},
      {"{" + meta + R"(, "status": {"containerStatuses": [{"name": "a", "allocatedResources": {"cpu": "x"}}]}})",
       "status.containerStatuses[0].allocatedResources: cpu: invalid quantity \"x\""},
      {"{" + meta + R"(, "status": {"initContainerStatuses": [{"name": "a", "resources": {"requests": 5}}]}})",
       "status.initContainerStatuses[0].resources.requests: expected an object"},
      {"{" + meta + R"(, "status": {"conditions": {"type": "Ready"}}})", "status.conditions: expected an array"},
      {R"({"metadata": {"name": "web", "namespace": "shop", "labels": {"a": 1}}})",
       "metadata.labels.a: expected a string"},
      {R"({"metadata": {"name": "web", "namespace": "shop", "ownerReferences": [{"kind": 1}]}})",
       "metadata.ownerReferences[0].kind: expected a string"},
  };
  for (const Case& c : cases) {
    const std::string message = parse_error(c.json);
    INFO(c.json);
    CHECK_THAT(message, Catch::StartsWith("pod shop/web: "));
    CHECK_THAT(message, Catch::Contains(c.path));
  }

  CHECK_THAT(parse_error(R"(["not", "a", "pod"])"), Catch::Contains("expected a JSON object, got array"));
  CHECK_THAT(parse_error(R"({"spec": {}})"), Catch::Contains("metadata: missing"));
  CHECK_THAT(parse_error(R"({"metadata": "x"})"), Catch::Contains("metadata: expected an object, got string"));
  CHECK_THAT(parse_error(R"({"metadata": {"name": 5}})"), Catch::Contains("metadata.name: expected a string"));
}
