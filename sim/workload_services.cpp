#include "sim/workload_services.hpp"

#include <boost/json/value.hpp>

#include <algorithm>
#include <map>
#include <vector>

namespace nodepack::sim {
namespace {

namespace json = boost::json;

constexpr std::size_t max_endpoints_per_slice = 100;  // the endpointslice controller's default

std::string string_at(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

const json::object* object_at(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr ? v->if_object() : nullptr;
}

// 10.96.0.0/12 from .10 on (kube-dns takes 10.96.0.10 in kubeadm clusters; nothing here does).
std::string cluster_ip(std::size_t index) {
  const auto n = static_cast<std::uint32_t>(index + 10);
  return "10." + std::to_string(96 + (n >> 16)) + "." + std::to_string((n >> 8) & 255) + "." + std::to_string(n & 255);
}

json::object service_object(const std::string& ns, const std::string& app, const std::string& ip) {
  return json::object{
      {"apiVersion", "v1"},
      {"kind", "Service"},
      {"metadata", json::object{{"name", app}, {"namespace", ns}, {"labels", json::object{{"app", app}}}}},
      {"spec", json::object{{"type", "ClusterIP"},
                            {"selector", json::object{{"app", app}}},
                            {"clusterIP", ip},
                            {"clusterIPs", json::array{json::value(ip)}},
                            {"ports", json::array{json::object{{"name", "http"},
                                                               {"port", service_port},
                                                               {"protocol", "TCP"},
                                                               {"targetPort", workload_port}}}}}}};
}

struct Endpoint {
  std::string ip;
  std::string node;
  std::string pod;
  bool operator<(const Endpoint& o) const { return ip < o.ip; }
};

json::object slice_object(const std::string& ns, const std::string& app, std::size_t index,
                          const std::vector<Endpoint>& endpoints, std::size_t first, std::size_t last) {
  json::array list;
  for (std::size_t i = first; i < last; ++i) {
    const auto& e = endpoints[i];
    list.push_back(
        json::object{{"addresses", json::array{json::value(e.ip)}},
                     {"conditions", json::object{{"ready", true}, {"serving", true}, {"terminating", false}}},
                     {"nodeName", e.node},
                     {"targetRef", json::object{{"kind", "Pod"}, {"namespace", ns}, {"name", e.pod}}}});
  }
  return json::object{
      {"apiVersion", "discovery.k8s.io/v1"},
      {"kind", "EndpointSlice"},
      {"metadata", json::object{{"name", app + "-" + std::to_string(index)},
                                {"namespace", ns},
                                {"labels", json::object{{"kubernetes.io/service-name", app},
                                                        {"endpointslice.kubernetes.io/managed-by", "nodepack-sim"}}}}},
      {"addressType", "IPv4"},
      {"endpoints", std::move(list)},
      {"ports", json::array{json::object{{"name", "http"}, {"port", workload_port}, {"protocol", "TCP"}}}}};
}

}  // namespace

std::string service_key(const json::object& pod) {
  const auto* metadata = object_at(pod, "metadata");
  const auto* labels = metadata != nullptr ? object_at(*metadata, "labels") : nullptr;
  const auto* owners = metadata != nullptr ? metadata->if_contains("ownerReferences") : nullptr;
  if (labels == nullptr || owners == nullptr || !owners->is_array() || owners->get_array().empty() ||
      !owners->get_array()[0].is_object()) {
    return {};
  }
  const auto kind = string_at(owners->get_array()[0].get_object(), "kind");
  const auto app = string_at(*labels, "app");
  if ((kind != "ReplicaSet" && kind != "StatefulSet") || app.empty()) {
    return {};
  }
  return string_at(*metadata, "namespace") + "/" + app;
}

Result<void> sync_workload_services(FakeApiServer& server, const std::set<std::string>* changed) {
  // Ready endpoints by Service: running pods with an IP.
  std::map<std::string, std::vector<Endpoint>> endpoints;
  for (const auto& pod : server.objects(Kind::pod)) {
    auto key = service_key(*pod);
    if (key.empty() || (changed != nullptr && !changed->contains(key))) {
      continue;
    }
    auto& list = endpoints[key];
    const auto* status = object_at(*pod, "status");
    if (status == nullptr || string_at(*status, "phase") != "Running" || string_at(*status, "podIP").empty()) {
      continue;
    }
    const auto* spec = object_at(*pod, "spec");
    list.push_back({string_at(*status, "podIP"), spec != nullptr ? string_at(*spec, "nodeName") : std::string(),
                    string_at(pod->at("metadata").as_object(), "name")});
  }
  std::set<std::string> services;
  for (const auto& s : server.objects(Kind::service)) {
    const auto& m = s->at("metadata").as_object();
    services.insert(string_at(m, "namespace") + "/" + string_at(m, "name"));
  }
  std::map<std::string, json::object> stored_slices;  // "namespace/name" -> slice
  for (const auto& s : server.objects(Kind::endpoint_slice)) {
    const auto& m = s->at("metadata").as_object();
    stored_slices.emplace(string_at(m, "namespace") + "/" + string_at(m, "name"), *s);
  }
  for (auto& [key, list] : endpoints) {
    const auto slash = key.find('/');
    const std::string ns = key.substr(0, slash);
    const std::string app = key.substr(slash + 1);
    if (!services.contains(key)) {
      if (auto made = server.upsert(Kind::service, service_object(ns, app, cluster_ip(services.size()))); !made) {
        return made.error();
      }
      services.insert(key);
    }
    std::sort(list.begin(), list.end());
    std::size_t index = 0;
    for (std::size_t first = 0; first < list.size(); first += max_endpoints_per_slice, ++index) {
      auto slice = slice_object(ns, app, index, list, first, std::min(list.size(), first + max_endpoints_per_slice));
      const auto stored = stored_slices.find(ns + "/" + app + "-" + std::to_string(index));
      if (stored != stored_slices.end() && stored->second.at("endpoints") == slice.at("endpoints")) {
        continue;  // unchanged: no write, no watch event
      }
      if (auto written = server.upsert(Kind::endpoint_slice, std::move(slice)); !written) {
        return written.error();
      }
    }
    // Slices beyond what the endpoints fill now.
    for (;; ++index) {
      const auto name = app + "-" + std::to_string(index);
      if (!stored_slices.contains(ns + "/" + name)) {
        break;
      }
      server.remove(Kind::endpoint_slice, ns, name);
    }
  }
  return {};
}

std::string nth_pod_ip(std::uint32_t n) {
  n &= (1U << 23) - 1;  // 10.128.0.0/9
  return "10." + std::to_string(128 + (n >> 16)) + "." + std::to_string((n >> 8) & 255) + "." + std::to_string(n & 255);
}

}  // namespace nodepack::sim
