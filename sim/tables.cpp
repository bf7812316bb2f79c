#include "sim/tables.hpp"

#include "common/rfc3339.hpp"

#include <boost/json/array.hpp>

#include <cstdio>

namespace nodepack::sim {

namespace json = boost::json;

namespace {

struct Column {
  const char* name;
  const char* type;
  int priority;  // 0: always shown; 1: with -o wide
  const char* description;
};

const json::object* object_at(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_object() ? &v->get_object() : nullptr;
}

const json::array* array_at(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_array() ? &v->get_array() : nullptr;
}

std::string string_at(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::string age_of(const json::object& object, std::chrono::system_clock::time_point now) {
  const auto* metadata = object_at(object, "metadata");
  const auto created = metadata != nullptr ? parse_rfc3339(string_at(*metadata, "creationTimestamp")) : std::nullopt;
  if (!created) {
    return "<unknown>";
  }
  return human_duration(std::chrono::duration_cast<std::chrono::seconds>(now - *created));
}

// What `kubectl get pods` prints under STATUS (pkg/printers/internalversion's printPod, reduced).
std::string pod_status(const json::object& pod) {
  const auto* metadata = object_at(pod, "metadata");
  const auto* status = object_at(pod, "status");
  if (metadata != nullptr && metadata->if_contains("deletionTimestamp") != nullptr) {
    return "Terminating";
  }
  std::string reason = status != nullptr ? string_at(*status, "phase") : std::string("Unknown");
  if (status == nullptr) {
    return reason;
  }
  if (const auto r = string_at(*status, "reason"); !r.empty()) {
    reason = r;
  }
  if (const auto* statuses = array_at(*status, "containerStatuses")) {
    for (const auto& s : *statuses) {
      if (!s.is_object()) {
        continue;
      }
      if (const auto* state = object_at(s.get_object(), "state")) {
        if (const auto* waiting = object_at(*state, "waiting"); waiting != nullptr) {
          if (auto r = string_at(*waiting, "reason"); !r.empty()) {
            reason = r;
          }
        } else if (const auto* terminated = object_at(*state, "terminated"); terminated != nullptr) {
          if (auto r = string_at(*terminated, "reason"); !r.empty()) {
            reason = r;
          }
        }
      }
    }
  }
  return reason;
}

json::array pod_cells(const json::object& pod, std::chrono::system_clock::time_point now) {
  const auto* status = object_at(pod, "status");
  const auto* spec = object_at(pod, "spec");
  int total = 0;
  if (spec != nullptr) {
    if (const auto* containers = array_at(*spec, "containers")) {
      total = static_cast<int>(containers->size());
    }
  }
  int ready = 0;
  std::int64_t restarts = 0;
  if (status != nullptr) {
    if (const auto* statuses = array_at(*status, "containerStatuses")) {
      for (const auto& s : *statuses) {
        if (!s.is_object()) {
          continue;
        }
        const auto* r = s.get_object().if_contains("ready");
        ready += r != nullptr && r->is_bool() && r->get_bool() ? 1 : 0;
        if (const auto* n = s.get_object().if_contains("restartCount"); n != nullptr && n->is_int64()) {
          restarts += n->get_int64();
        }
      }
    }
  }
  const std::string ip = status != nullptr ? string_at(*status, "podIP") : std::string();
  const std::string node = spec != nullptr ? string_at(*spec, "nodeName") : std::string();
  const std::string nominated = status != nullptr ? string_at(*status, "nominatedNodeName") : std::string();
  return json::array{string_at(*object_at(pod, "metadata"), "name"),
                     std::to_string(ready) + "/" + std::to_string(total),
                     pod_status(pod),
                     std::to_string(restarts),
                     age_of(pod, now),
                     ip.empty() ? "<none>" : ip,
                     node.empty() ? "<none>" : node,
                     nominated.empty() ? "<none>" : nominated,
                     "<none>"};
}

json::array node_cells(const json::object& node, std::chrono::system_clock::time_point now) {
  const auto* metadata = object_at(node, "metadata");
  const auto* status = object_at(node, "status");
  const auto* spec = object_at(node, "spec");
  std::string ready = "NotReady";
  std::string internal_ip = "<none>";
  std::string external_ip = "<none>";
  json::object info;
  if (status != nullptr) {
    if (const auto* conditions = array_at(*status, "conditions")) {
      for (const auto& c : *conditions) {
        if (c.is_object() && string_at(c.get_object(), "type") == "Ready") {
          ready = string_at(c.get_object(), "status") == "True" ? "Ready" : "NotReady";
        }
      }
    }
    if (const auto* addresses = array_at(*status, "addresses")) {
      for (const auto& a : *addresses) {
        if (!a.is_object()) {
          continue;
        }
        const auto type = string_at(a.get_object(), "type");
        if (type == "InternalIP") {
          internal_ip = string_at(a.get_object(), "address");
        } else if (type == "ExternalIP") {
          external_ip = string_at(a.get_object(), "address");
        }
      }
    }
    if (const auto* i = object_at(*status, "nodeInfo")) {
      info = *i;
    }
  }
  if (spec != nullptr) {
    if (const auto* u = spec->if_contains("unschedulable"); u != nullptr && u->is_bool() && u->get_bool()) {
      ready += ",SchedulingDisabled";
    }
  }
  std::string roles;
  if (metadata != nullptr) {
    if (const auto* labels = object_at(*metadata, "labels")) {
      for (const auto& [key, value] : *labels) {
        constexpr std::string_view prefix = "node-role.kubernetes.io/";
        if (std::string_view(key).starts_with(prefix)) {
          roles += (roles.empty() ? "" : ",") + std::string(std::string_view(key).substr(prefix.size()));
        }
      }
    }
  }
  auto or_none = [](std::string s) { return s.empty() ? std::string("<none>") : s; };
  return json::array{metadata != nullptr ? string_at(*metadata, "name") : std::string(),
                     ready,
                     roles.empty() ? "<none>" : roles,
                     age_of(node, now),
                     or_none(string_at(info, "kubeletVersion")),
                     internal_ip,
                     external_ip,
                     or_none(string_at(info, "osImage")),
                     or_none(string_at(info, "kernelVersion")),
                     or_none(string_at(info, "containerRuntimeVersion"))};
}

std::vector<Column> columns_of(Kind kind) {
  const char* name_help = "Name must be unique within a namespace.";
  const char* age_help = "CreationTimestamp is a timestamp representing the server time when this object was created.";
  switch (kind) {
    case Kind::pod:
      return {{"Name", "string", 0, name_help},
              {"Ready", "string", 0, "The aggregate readiness state of this pod for accepting traffic."},
              {"Status", "string", 0, "The aggregate status of the containers in this pod."},
              {"Restarts", "string", 0, "The number of times the containers in this pod have been restarted."},
              {"Age", "string", 0, age_help},
              {"IP", "string", 1, "IP address allocated to the pod."},
              {"Node", "string", 1, "Name of the Node this pod is scheduled on."},
              {"Nominated Node", "string", 1, "Node the scheduler nominated for the pod."},
              {"Readiness Gates", "string", 1, "Pod readiness gates."}};
    case Kind::node:
      return {{"Name", "string", 0, name_help},
              {"Status", "string", 0, "The status of the node"},
              {"Roles", "string", 0, "The roles of the node"},
              {"Age", "string", 0, age_help},
              {"Version", "string", 0, "Kubelet Version reported by the node."},
              {"Internal-IP", "string", 1, "List of internal IPs of the node."},
              {"External-IP", "string", 1, "List of external IPs of the node."},
              {"OS-Image", "string", 1, "OS Image reported by the node from /etc/os-release."},
              {"Kernel-Version", "string", 1, "Kernel Version reported by the node."},
              {"Container-Runtime", "string", 1, "Container Runtime Version reported by the node."}};
    default:
      return {{"Name", "string", 0, name_help}, {"Age", "string", 0, age_help}};
  }
}

}  // namespace

bool wants_table(std::string_view accept) { return accept.find("as=Table") != std::string_view::npos; }

std::string human_duration(std::chrono::seconds d) {
  using namespace std::chrono;
  const long long s = d.count();
  char buf[32];
  if (s < -1) {
    return "<invalid>";
  }
  if (s < 0) {
    return "0s";
  }
  if (s < 120) {
    std::snprintf(buf, sizeof buf, "%llds", s);
  } else if (const long long m = s / 60; m < 10) {
    if (s % 60 == 0) {
      std::snprintf(buf, sizeof buf, "%lldm", m);
    } else {
      std::snprintf(buf, sizeof buf, "%lldm%llds", m, s % 60);
    }
  } else if (m < 180) {
    std::snprintf(buf, sizeof buf, "%lldm", m);
  } else if (const long long h = s / 3600; h < 8) {
    std::snprintf(buf, sizeof buf, "%lldh%lldm", h, (s % 3600) / 60);
  } else if (h < 48) {
    std::snprintf(buf, sizeof buf, "%lldh", h);
  } else if (h < 24 * 8) {
    std::snprintf(buf, sizeof buf, "%lldd%lldh", h / 24, h % 24);
  } else if (h < 24 * 365 * 2) {
    std::snprintf(buf, sizeof buf, "%lldd", h / 24);
  } else if (h < 24 * 365 * 8) {
    std::snprintf(buf, sizeof buf, "%lldy%lldd", h / (24 * 365), (h / 24) % 365);
  } else {
    std::snprintf(buf, sizeof buf, "%lldy", h / (24 * 365));
  }
  return buf;
}

json::object make_table(Kind kind, const std::vector<ObjectPtr>& items, std::uint64_t resource_version,
                        std::chrono::system_clock::time_point now) {
  json::array definitions;
  for (const auto& c : columns_of(kind)) {
    definitions.push_back(json::object{{"name", c.name},
                                       {"type", c.type},
                                       {"format", std::string_view(c.name) == "Name" ? "name" : ""},
                                       {"description", c.description},
                                       {"priority", c.priority}});
  }
  json::array rows;
  for (const auto& item : items) {
    json::array cells;
    if (kind == Kind::pod) {
      cells = pod_cells(*item, now);
    } else if (kind == Kind::node) {
      cells = node_cells(*item, now);
    } else {
      const auto* metadata = object_at(*item, "metadata");
      cells = json::array{metadata != nullptr ? string_at(*metadata, "name") : std::string(), age_of(*item, now)};
    }
    json::object partial{
        {"kind", "PartialObjectMetadata"}, {"apiVersion", "meta.k8s.io/v1"}, {"metadata", item->at("metadata")}};
    rows.push_back(json::object{{"cells", std::move(cells)}, {"object", std::move(partial)}});
  }
  return json::object{{"kind", "Table"},
                      {"apiVersion", "meta.k8s.io/v1"},
                      {"metadata", json::object{{"resourceVersion", std::to_string(resource_version)}}},
                      {"columnDefinitions", std::move(definitions)},
                      {"rows", std::move(rows)}};
}

}  // namespace nodepack::sim
