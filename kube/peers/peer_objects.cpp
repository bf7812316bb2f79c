#include "kube/peers/peer_objects.hpp"

#include "kube/json_fields.hpp"
#include "kube/workload.hpp"

#include <algorithm>

namespace nodepack::kube::peers {
namespace {

namespace json = boost::json;

const json::array* array_field(const json::object& parent, std::string_view key) {
  const auto* v = parent.if_contains(key);
  return v != nullptr ? v->if_array() : nullptr;
}

// An object's metadata with its namespace and name, or why it has none.
Result<const json::object*> named_metadata(const json::value& value, std::string_view kind) {
  const auto* object = value.if_object();
  const auto* metadata = object != nullptr ? object_field(*object, "metadata") : nullptr;
  if (metadata == nullptr || string_field(*metadata, "name").empty()) {
    return fail(std::string(kind) + " without metadata.name");
  }
  return metadata;
}

void add_address(std::vector<AddressKey>& out, std::string_view text) {
  const auto key = AddressKey::parse(text);
  if (key && std::find(out.begin(), out.end(), *key) == out.end()) {
    out.push_back(*key);
  }
}

// The addresses of a plural field of {"ip": ...} objects or of strings, else of its singular.
std::vector<AddressKey> addresses(const json::object& parent, std::string_view plural, std::string_view singular) {
  std::vector<AddressKey> out;
  if (const auto* list = array_field(parent, plural)) {
    for (const auto& item : *list) {
      if (const auto* s = item.if_string()) {
        add_address(out, *s);
      } else if (const auto* o = item.if_object()) {
        add_address(out, string_field(*o, "ip"));
      }
    }
  }
  if (out.empty()) {
    add_address(out, string_field(parent, singular));
  }
  return out;
}

std::string workload(const json::object& metadata, const std::string& pod_name) {
  // Only what workload_of reads: the name, the first owner and the pod-template-hash label.
  Pod pod;
  pod.name = pod_name;
  if (const auto* owners = array_field(metadata, "ownerReferences"); owners != nullptr && !owners->empty()) {
    if (const auto* owner = owners->front().if_object()) {
      pod.owner_references.push_back({string_field(*owner, "kind"), string_field(*owner, "name")});
    }
  }
  if (const auto* labels = object_field(metadata, "labels")) {
    if (auto hash = string_field(*labels, "pod-template-hash"); !hash.empty()) {
      pod.labels.emplace("pod-template-hash", std::move(hash));
    }
  }
  return workload_of(pod).name;
}

}  // namespace

Result<PodDigest> parse_pod_digest(const json::value& value) {
  auto metadata = named_metadata(value, "pod");
  if (!metadata) {
    return metadata.error();
  }
  PodDigest d;
  d.namespace_name = string_field(**metadata, "namespace");
  d.name = string_field(**metadata, "name");
  d.workload = workload(**metadata, d.name);
  const auto& object = value.get_object();
  const auto* spec = object_field(object, "spec");
  const auto* host_network = spec != nullptr ? spec->if_contains("hostNetwork") : nullptr;
  if (host_network != nullptr && host_network->is_bool() && host_network->get_bool()) {
    return d;  // its IP is its node's: claiming it would name every host-network peer after this pod
  }
  const auto* status = object_field(object, "status");
  if (status == nullptr) {
    return d;
  }
  const auto phase = string_field(*status, "phase");
  if (phase == "Succeeded" || phase == "Failed") {
    return d;
  }
  d.addresses = addresses(*status, "podIPs", "podIP");
  return d;
}

Result<ServiceDigest> parse_service_digest(const json::value& value) {
  auto metadata = named_metadata(value, "service");
  if (!metadata) {
    return metadata.error();
  }
  ServiceDigest d;
  d.namespace_name = string_field(**metadata, "namespace");
  d.name = string_field(**metadata, "name");
  if (const auto* spec = object_field(value.get_object(), "spec")) {
    d.addresses = addresses(*spec, "clusterIPs", "clusterIP");  // "None" (headless) is no address
  }
  return d;
}

Result<SliceDigest> parse_slice_digest(const json::value& value) {
  auto metadata = named_metadata(value, "endpointslice");
  if (!metadata) {
    return metadata.error();
  }
  SliceDigest d;
  d.namespace_name = string_field(**metadata, "namespace");
  d.name = string_field(**metadata, "name");
  if (const auto* labels = object_field(**metadata, "labels")) {
    d.service = string_field(*labels, "kubernetes.io/service-name");
  }
  const auto& object = value.get_object();
  if (const auto* endpoints = array_field(object, "endpoints")) {
    for (const auto& endpoint : *endpoints) {
      const auto* e = endpoint.if_object();
      if (const auto* list = e != nullptr ? array_field(*e, "addresses") : nullptr) {
        for (const auto& a : *list) {
          if (const auto* s = a.if_string()) {
            add_address(d.addresses, *s);
          }
        }
      }
    }
  }
  if (const auto* ports = array_field(object, "ports")) {
    for (const auto& port : *ports) {
      const auto* p = port.if_object();
      const auto* number = p != nullptr ? p->if_contains("port") : nullptr;
      if (number == nullptr || !number->is_int64() || number->get_int64() <= 0 || number->get_int64() > 65535) {
        d.ports.clear();  // a port left unset means every port (the API's rule)
        break;
      }
      d.ports.push_back(static_cast<std::uint16_t>(number->get_int64()));
    }
  }
  return d;
}

}  // namespace nodepack::kube::peers
