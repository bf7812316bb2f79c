// Per-pod work on every watch event: parse the pod JSON, then compute its requests.

#include "kube/pod.hpp"
#include "kube/pod_requests.hpp"

#include <benchmark/benchmark.h>
#include <boost/json.hpp>

#include <string>

namespace {

using nodepack::kube::compute_pod_requests;
using nodepack::kube::parse_pod;
using nodepack::kube::ResizeSemantics;

// A realistic pod of about 3 KB: 3 containers, a sidecar and a regular init container, overhead,
// statuses with in-place resize fields, and the metadata and spec noise nodepack ignores.
const std::string kPodJson = R"({
  "kind": "Pod", "apiVersion": "v1",
  "metadata": {
    "name": "checkout-6b7f9c8d4-q7k2m", "generateName": "checkout-6b7f9c8d4-", "namespace": "shop",
    "uid": "5e0f2c4a-8d1b-4c3e-9a7f-1b2c3d4e5f60", "resourceVersion": "48213377",
    "creationTimestamp": "2025-03-01T10:00:00Z",
    "labels": {"app.kubernetes.io/name": "checkout", "app.kubernetes.io/version": "2.14.1",
               "pod-template-hash": "6b7f9c8d4", "security.istio.io/tlsMode": "istio"},
    "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": "9090",
                    "kubectl.kubernetes.io/default-container": "checkout"},
    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "checkout-6b7f9c8d4",
                         "uid": "0a1b2c3d-0000-4000-8000-00000000abcd", "controller": true,
                         "blockOwnerDeletion": true}]
  },
  "spec": {
    "nodeName": "ip-10-0-12-34.ec2.internal", "serviceAccountName": "checkout", "priority": 0,
    "runtimeClassName": "kata", "overhead": {"cpu": "250m", "memory": "160Mi"},
    "initContainers": [
      {"name": "istio-proxy", "image": "istio/proxyv2:1.24.0", "restartPolicy": "Always",
       "args": ["proxy", "sidecar", "--domain", "$(POD_NAMESPACE).svc.cluster.local"],
       "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "2", "memory": "1Gi"}}},
      {"name": "migrate", "image": "registry.example/checkout-migrate:2.14.1", "command": ["/migrate", "up"],
       "resources": {"requests": {"cpu": "1", "memory": "256Mi"}}}
    ],
    "containers": [
      {"name": "checkout", "image": "registry.example/checkout:2.14.1",
       "ports": [{"containerPort": 8080, "protocol": "TCP"}, {"containerPort": 9090, "protocol": "TCP"}],
       "env": [{"name": "GOMAXPROCS", "value": "2"}, {"name": "LOG_LEVEL", "value": "info"}],
       "resources": {"requests": {"cpu": "500m", "memory": "512Mi", "ephemeral-storage": "1Gi"},
                     "limits": {"memory": "1Gi"}},
       "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 5}},
      {"name": "cache", "image": "redis:7.2", "resources": {"requests": {"cpu": "200m", "memory": "256Mi"}}},
      {"name": "log-shipper", "image": "fluent/fluent-bit:3.0",
       "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}}}
    ],
    "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
                     "tolerationSeconds": 300}]
  },
  "status": {
    "phase": "Running", "qosClass": "Burstable", "hostIP": "10.0.12.34", "podIP": "10.1.7.23",
    "startTime": "2025-03-01T10:00:02Z",
    "conditions": [{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "True"},
                   {"type": "ContainersReady", "status": "True"}, {"type": "PodScheduled", "status": "True"}],
    "initContainerStatuses": [
      {"name": "istio-proxy", "containerID": "containerd://1111", "restartCount": 0, "ready": true,
       "allocatedResources": {"cpu": "100m", "memory": "128Mi"},
       "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}},
      {"name": "migrate", "containerID": "containerd://2222", "restartCount": 0, "ready": true}
    ],
    "containerStatuses": [
      {"name": "checkout", "containerID": "containerd://3333", "restartCount": 2, "ready": true,
       "allocatedResources": {"cpu": "750m", "memory": "512Mi", "ephemeral-storage": "1Gi"},
       "resources": {"requests": {"cpu": "750m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}}},
      {"name": "cache", "containerID": "containerd://4444", "restartCount": 0, "ready": true,
       "allocatedResources": {"cpu": "200m", "memory": "256Mi"},
       "resources": {"requests": {"cpu": "200m", "memory": "256Mi"}}},
      {"name": "log-shipper", "containerID": "containerd://5555", "restartCount": 0, "ready": true,
       "allocatedResources": {"cpu": "50m", "memory": "64Mi"},
       "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}}}
    ]
  }
})";

void BM_ParsePod(benchmark::State& state) {
  for (auto _ : state) {
    auto pod = parse_pod(boost::json::parse(kPodJson));
    benchmark::DoNotOptimize(pod);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(kPodJson.size()));
}
BENCHMARK(BM_ParsePod);

// The model step alone, from an already parsed JSON document.
void BM_ParsePodFromValue(benchmark::State& state) {
  const boost::json::value json = boost::json::parse(kPodJson);
  for (auto _ : state) {
    auto pod = parse_pod(json);
    benchmark::DoNotOptimize(pod);
  }
}
BENCHMARK(BM_ParsePodFromValue);

void BM_ComputePodRequests(benchmark::State& state) {
  const auto pod = parse_pod(boost::json::parse(kPodJson)).value();
  const auto semantics = state.range(0) == 0 ? ResizeSemantics::per_container : ResizeSemantics::max_of_sums;
  for (auto _ : state) {
    auto requests = compute_pod_requests(pod, semantics);
    benchmark::DoNotOptimize(requests);
  }
  state.SetLabel(state.range(0) == 0 ? "per-container" : "max-of-sums");
}
BENCHMARK(BM_ComputePodRequests)->Arg(0)->Arg(1);

}  // namespace
