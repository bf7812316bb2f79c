#include "kpod/scope/pod_scope.hpp"

#include <algorithm>
#include <cctype>
#include <set>

namespace nodepack::kpod {
namespace {

// Labels nodepack itself puts on kpod_* series: a copied pod label may not take one of them.
const std::set<std::string, std::less<>> kOwnLabels{
    "namespace", "pod", "container", "node", "cluster",  "syscall",   "device", "interface",    "mountpoint", "irq",
    "vector",    "le",  "quantile",  "job",  "instance", "direction", "method", "status_class", "protocol"};

bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

std::string prometheus_label_name(std::string_view key) {
  std::string out;
  out.reserve(key.size() + 1);
  if (!key.empty() && std::isdigit(static_cast<unsigned char>(key.front())) != 0) {
    out.push_back('_');
  }
  for (char c : key) {
    out.push_back(std::isalnum(static_cast<unsigned char>(c)) != 0 ? c : '_');
  }
  return out;
}

Result<PodScope> PodScope::create(const PodScopeOptions& options) {
  PodScope out;
  out.namespaces_ = options.namespaces;
  out.exclude_ = options.exclude_namespaces;
  out.cluster_ = options.cluster;
  auto selector = LabelSelector::parse(options.label_selector);
  if (!selector) {
    return selector.error();
  }
  out.selector_ = std::move(*selector);
  std::set<std::string, std::less<>> taken;
  for (const auto& key : options.include_labels) {
    if (key.empty()) {
      continue;
    }
    auto name = prometheus_label_name(key);
    if (kOwnLabels.contains(name) || name.starts_with("__")) {
      return fail("include-labels: pod label \"" + key + "\" would become the label \"" + name +
                  "\", which nodepack sets itself or Prometheus reserves");
    }
    if (!taken.insert(name).second) {
      return fail("include-labels: two pod labels become the same label name \"" + name + "\"");
    }
    out.copied_.push_back({key, std::move(name)});
  }
  return out;
}

bool PodScope::tracks(std::string_view namespace_name, const cgroup::LabelMap& pod_labels) const {
  if (!namespaces_.empty() && !contains(namespaces_, namespace_name)) {
    return false;
  }
  if (contains(exclude_, namespace_name)) {
    return false;
  }
  return selector_.matches(pod_labels);
}

void PodScope::append_label_refs(std::vector<metrics::LabelRef>& out, std::string_view namespace_name,
                                 std::string_view pod, std::string_view container, const cgroup::LabelMap& pod_labels,
                                 std::string_view node) const {
  out.push_back({"namespace", namespace_name});
  out.push_back({"pod", pod});
  if (!container.empty()) {
    out.push_back({"container", container});
  }
  out.push_back({"node", node});
  if (!cluster_.empty()) {
    out.push_back({"cluster", cluster_});
  }
  for (const auto& c : copied_) {
    if (auto it = pod_labels.find(c.key); it != pod_labels.end() && !it->second.empty()) {
      out.push_back({c.name, it->second});
    }
  }
}

metrics::Labels PodScope::labels(const cgroup::PodIdentity& pod, const std::string& node, metrics::Labels extra) const {
  std::vector<metrics::LabelRef> refs;
  refs.reserve(5 + copied_.size());
  append_label_refs(refs, pod, node);
  metrics::Labels out;
  out.reserve(refs.size() + extra.size());
  for (const auto& r : refs) {
    out.push_back({std::string(r.name), std::string(r.value)});
  }
  for (auto& l : extra) {
    out.push_back(std::move(l));
  }
  return out;
}

metrics::Labels PodScope::node_labels(const std::string& node, metrics::Labels extra) const {
  metrics::Labels out = std::move(extra);
  out.push_back({"node", node});
  if (!cluster_.empty()) {
    out.push_back({"cluster", cluster_});
  }
  return out;
}

}  // namespace nodepack::kpod
