#include "sim/pod_bulk.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <string>

namespace nodepack::sim {

namespace json = boost::json;

namespace {

std::string random_text(std::mt19937_64& r, int n) {
  static constexpr char chars[] = "abcdefghijklmnopqrstuvwxyz0123456789-_./:";
  std::string s;
  for (int i = 0; i < n; ++i) {
    s.push_back(chars[r() % (sizeof chars - 1)]);
  }
  return s;
}

json::array& containers_of(json::object& pod) { return pod["spec"].as_object()["containers"].as_array(); }

// `per_container` env entries on every container, like the configuration a Deployment injects.
void add_env(json::object& pod, int per_container, std::mt19937_64& r) {
  int n = 0;
  for (auto& c : containers_of(pod)) {
    json::array env;
    for (int i = 0; i < per_container; ++i, ++n) {
      env.push_back(json::object{{"name", "APP_SETTING_" + std::to_string(n)}, {"value", random_text(r, 48)}});
    }
    c.as_object()["env"] = std::move(env);
  }
}

// The fieldsV1 set of one container as its manager wrote it: every key, every env entry by name.
json::object container_fields(const json::object& container) {
  json::object fields{{".", json::object{}},
                      {"f:image", json::object{}},
                      {"f:name", json::object{}},
                      {"f:resources", json::object{{".", json::object{}}, {"f:requests", json::object{}}}}};
  if (const auto* env = container.if_contains("env"); env != nullptr && env->is_array()) {
    json::object entries{{".", json::object{}}};
    for (const auto& e : env->as_array()) {
      const std::string key = "k:{\"name\":\"" + std::string(e.as_object().at("name").as_string()) + "\"}";
      entries[key] = json::object{{".", json::object{}}, {"f:name", json::object{}}, {"f:value", json::object{}}};
    }
    fields["f:env"] = std::move(entries);
  }
  return fields;
}

json::array managed_fields(const json::object& pod) {
  json::object containers{{".", json::object{}}};
  for (const auto& c : pod.at("spec").as_object().at("containers").as_array()) {
    containers["k:{\"name\":\"" + std::string(c.as_object().at("name").as_string()) + "\"}"] =
        container_fields(c.as_object());
  }
  json::object spec_fields{
      {"f:spec", json::object{{"f:containers", std::move(containers)}, {"f:restartPolicy", json::object{}}}}};
  json::object status_fields{{"f:status", json::object{{"f:conditions", json::object{{".", json::object{}}}},
                                                       {"f:containerStatuses", json::object{}},
                                                       {"f:phase", json::object{}},
                                                       {"f:podIP", json::object{}},
                                                       {"f:startTime", json::object{}}}}};
  const auto entry = [](const char* manager, const char* operation, json::object fields, const char* sub) {
    json::object e{{"manager", manager},       {"operation", operation},
                   {"apiVersion", "v1"},       {"time", "2025-01-01T00:00:00Z"},
                   {"fieldsType", "FieldsV1"}, {"fieldsV1", std::move(fields)}};
    if (sub != nullptr) {
      e["subresource"] = sub;
    }
    return e;
  };
  return json::array{entry("kube-controller-manager", "Update", std::move(spec_fields), nullptr),
                     entry("kubelet", "Update", std::move(status_fields), "status")};
}

// kubectl apply's annotation: the manifest as applied, metadata and spec, serialised.
std::string last_applied(const json::object& pod) {
  const auto& metadata = pod.at("metadata").as_object();
  json::object applied_metadata{{"name", metadata.at("name")}, {"namespace", metadata.at("namespace")}};
  if (const auto* labels = metadata.if_contains("labels")) {
    applied_metadata["labels"] = *labels;
  }
  json::object spec = pod.at("spec").as_object();
  spec.erase("nodeName");
  return json::serialize(
      json::object{{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", applied_metadata}, {"spec", spec}});
}

json::object padded(const json::object& pod, int env_per_container, std::mt19937_64& r) {
  json::object out = pod;
  add_env(out, env_per_container, r);
  auto& metadata = out["metadata"].as_object();
  metadata["managedFields"] = managed_fields(out);
  auto& annotations = metadata["annotations"];
  if (!annotations.is_object()) {
    annotations = json::object{};
  }
  annotations.as_object()["kubectl.kubernetes.io/last-applied-configuration"] = last_applied(out);
  return out;
}

}  // namespace

void add_pod_bulk(json::object& pod, std::size_t bytes, std::mt19937_64& random) {
  const auto size = [](const json::object& o) { return json::serialize(o).size(); };
  if (bytes == 0 || size(pod) >= bytes) {
    return;
  }
  // The size grows linearly with the env entries per container: measure two points and aim.
  constexpr int probe = 8;
  const auto base = size(padded(pod, 0, random));
  const auto probed = size(padded(pod, probe, random));
  const double per_entry = static_cast<double>(probed - base) / probe;
  const int entries = bytes > base ? static_cast<int>(static_cast<double>(bytes - base) / per_entry + 0.5) : 0;
  pod = padded(pod, entries, random);
}

}  // namespace nodepack::sim
