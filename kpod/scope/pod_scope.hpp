#pragma once

// Which pods get kpod_* series and what extra labels those series carry: kpod-metrics' filters
// (namespaces to include and to exclude, a label selector), its `include-labels` and its cluster
// name. Applied where a cgroup is first named, so a filtered pod's series are never made, and
// its cgroups are handed to the BPF side so its programs give them no map entry. Binpacking and
// usage accounting never ask it: they count every pod.

#include "cgroup/pod_lookup.hpp"
#include "common/result.hpp"
#include "kpod/scope/label_selector.hpp"
#include "metrics/family.hpp"
#include "metrics/streamed_collector.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace nodepack::kpod {

struct PodScopeOptions {
  std::vector<std::string> namespaces;                                        // empty: every namespace
  std::vector<std::string> exclude_namespaces{"kube-system", "kube-public"};  // kpod-metrics' default
  std::string label_selector;
  std::vector<std::string> include_labels{"app", "app.kubernetes.io/name"};  // pod label keys
  std::string cluster;  // non-empty: a `cluster` label on every kpod_* series
};

class PodScope {
 public:
  // Everything tracked, no extra labels (tests, and collectors built without options).
  PodScope() = default;
  // Fails on a bad selector, and on include-labels whose Prometheus names collide with a label
  // nodepack sets or with each other.
  static Result<PodScope> create(const PodScopeOptions& options);

  bool tracks(const cgroup::PodIdentity& pod) const { return tracks(pod.namespace_name, pod.labels); }
  bool tracks(std::string_view namespace_name, const cgroup::LabelMap& pod_labels) const;
  // The labels of a kpod_* series: namespace, pod, container (omitted when empty), node, cluster,
  // the included pod labels the pod has, then `extra`.
  metrics::Labels labels(const cgroup::PodIdentity& pod, const std::string& node, metrics::Labels extra = {}) const;
  // The same labels up to `extra`, as views of `pod`, `node` and this scope, appended to `out`
  // (a collector that writes its text straight, metrics/streamed_collector.hpp).
  void append_label_refs(std::vector<metrics::LabelRef>& out, const cgroup::PodIdentity& pod,
                         std::string_view node) const {
    append_label_refs(out, pod.namespace_name, pod.pod, pod.container, pod.labels, node);
  }
  // The same from a pod's parts, for a caller that holds them elsewhere (the pod store).
  void append_label_refs(std::vector<metrics::LabelRef>& out, std::string_view namespace_name, std::string_view pod,
                         std::string_view container, const cgroup::LabelMap& pod_labels, std::string_view node) const;
  // The labels of a per-node kpod_* series (irq): `extra`, node, then cluster.
  metrics::Labels node_labels(const std::string& node, metrics::Labels extra = {}) const;
  bool filters() const { return !namespaces_.empty() || !exclude_.empty() || !selector_.empty(); }

 private:
  struct Copied {
    std::string key;   // the pod label
    std::string name;  // its Prometheus label name
  };
  std::vector<std::string> namespaces_;
  std::vector<std::string> exclude_;
  LabelSelector selector_;
  std::vector<Copied> copied_;
  std::string cluster_;
};

// A pod label key as a Prometheus label name: every character outside [A-Za-z0-9_] becomes '_',
// and a leading digit gets a '_' before it ("app.kubernetes.io/name" -> "app_kubernetes_io_name").
std::string prometheus_label_name(std::string_view key);

}  // namespace nodepack::kpod
