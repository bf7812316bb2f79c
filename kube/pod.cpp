#include "kube/pod.hpp"

#include <boost/json/kind.hpp>
#include <boost/json/object.hpp>

#include <algorithm>
#include <limits>
#include <string>
#include <utility>

namespace nodepack::kube {

bool Pod::is_daemonset() const {
  return std::any_of(owner_references.begin(), owner_references.end(),
                     [](const OwnerReference& owner) { return owner.kind == "DaemonSet"; });
}

bool Pod::is_guaranteed() const {
  const auto guaranteed = [](const Container& c) {
    for (const char* resource : {"cpu", "memory"}) {
      const auto limit = c.limits.find(resource);
      if (limit == c.limits.end() || limit->second.is_zero()) {
        return false;
      }
      const auto request = c.requests.find(resource);
      if (request != c.requests.end() && !(request->second == limit->second)) {
        return false;
      }
    }
    return true;
  };
  if (containers.empty()) {
    return false;
  }
  for (const auto* list : {&containers, &init_containers}) {
    for (const auto& c : *list) {
      if (!guaranteed(c)) {
        return false;
      }
    }
  }
  return true;
}

bool Pod::resize_infeasible() const {
  // Only the first PodResizePending condition counts, as in the scheduler's helper.
  for (const PodCondition& condition : conditions) {
    if (condition.type == "PodResizePending") {
      return condition.reason == "Infeasible";
    }
  }
  return false;
}

const ContainerStatus* Pod::find_status(std::string_view container_name) const {
  for (const auto* statuses : {&container_statuses, &init_container_statuses}) {
    for (const ContainerStatus& status : *statuses) {
      if (status.name == container_name) {
        return &status;
      }
    }
  }
  return nullptr;
}

namespace {

namespace json = boost::json;

std::string join_path(std::string_view parent, std::string_view key) {
  std::string path(parent);
  if (!path.empty()) {
    path += '.';
  }
  path.append(key);
  return path;
}

// Reads fields of one pod, naming the pod and the full field path in every error. Callers pass
// the parent's path and the key; the full path is only built for an error, which keeps parsing
// free of string building. Absent and null fields read as empty: the API server omits empty
// fields, and clients may send null.
class PodReader {
 public:
  void set_pod_key(std::string key) { prefix_ = "pod " + std::move(key) + ": "; }

  Error error(std::string_view path, std::string_view what) const {
    std::string message = prefix_;
    message.append(path);
    message += ": ";
    message.append(what);
    return fail(std::move(message));
  }

  static const json::value* field(const json::object& parent, std::string_view key) {
    const json::value* v = parent.if_contains(key);
    return (v == nullptr || v->is_null()) ? nullptr : v;
  }

  Result<const json::object*> object(const json::object& parent, std::string_view key,
                                     std::string_view parent_path) const {
    const json::value* v = field(parent, key);
    if (v == nullptr) {
      return static_cast<const json::object*>(nullptr);
    }
    if (!v->is_object()) {
      return wrong_type(join_path(parent_path, key), "an object", *v);
    }
    return &v->get_object();
  }

  Result<const json::array*> array(const json::object& parent, std::string_view key,
                                   std::string_view parent_path) const {
    const json::value* v = field(parent, key);
    if (v == nullptr) {
      return static_cast<const json::array*>(nullptr);
    }
    if (!v->is_array()) {
      return wrong_type(join_path(parent_path, key), "an array", *v);
    }
    return &v->get_array();
  }

  Result<std::optional<std::string>> optional_string(const json::object& parent, std::string_view key,
                                                     std::string_view parent_path) const {
    const json::value* v = field(parent, key);
    if (v == nullptr) {
      return std::optional<std::string>();
    }
    if (!v->is_string()) {
      return wrong_type(join_path(parent_path, key), "a string", *v);
    }
    return std::optional<std::string>(std::string(v->get_string()));
  }

  Result<std::string> string(const json::object& parent, std::string_view key, std::string_view parent_path) const {
    auto s = optional_string(parent, key, parent_path);
    if (!s) {
      return s.error();
    }
    // in_place: Error is constructible from a string too (C++20 aggregate parentheses), so a bare
    // string would be ambiguous.
    return Result<std::string>(boost::system::in_place_value, s->value_or(std::string()));
  }

  Result<std::int64_t> integer(const json::object& parent, std::string_view key, std::string_view parent_path) const {
    const json::value* v = field(parent, key);
    if (v == nullptr) {
      return std::int64_t{0};
    }
    if (v->is_int64()) {
      return v->get_int64();
    }
    if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return static_cast<std::int64_t>(v->get_uint64());
    }
    return wrong_type(join_path(parent_path, key), "an integer", *v);
  }

  Result<std::optional<ResourceList>> resources(const json::object& parent, std::string_view key,
                                                std::string_view parent_path) const {
    const json::value* v = field(parent, key);
    if (v == nullptr) {
      return std::optional<ResourceList>();
    }
    if (!v->is_object()) {
      return wrong_type(join_path(parent_path, key), "an object of resource name to quantity", *v);
    }
    auto list = parse_resource_list(*v);
    if (!list) {
      return error(join_path(parent_path, key), list.error().message);
    }
    return std::optional<ResourceList>(std::move(*list));
  }

 private:
  Error wrong_type(std::string_view path, std::string_view expected, const json::value& got) const {
    std::string what = "expected ";
    what.append(expected);
    what += ", got ";
    what.append(json::to_string(got.kind()));
    return error(path, what);
  }

  std::string prefix_ = "pod: ";
};

// Propagates a failed Result from the enclosing function; keeps the field-by-field code flat.
#define NODEPACK_ASSIGN(target, expr)   \
  do {                                  \
    auto nodepack_r_ = (expr);          \
    if (!nodepack_r_) {                 \
      return nodepack_r_.error();       \
    }                                   \
    (target) = std::move(*nodepack_r_); \
  } while (false)

Result<Container> parse_container(const PodReader& r, const json::value& v, const std::string& path) {
  if (!v.is_object()) {
    return r.error(path, "expected an object");
  }
  const json::object& o = v.get_object();
  Container c;
  NODEPACK_ASSIGN(c.name, r.string(o, "name", path));
  NODEPACK_ASSIGN(c.restart_policy, r.optional_string(o, "restartPolicy", path));
  const json::object* res = nullptr;
  NODEPACK_ASSIGN(res, r.object(o, "resources", path));
  if (res != nullptr) {
    std::optional<ResourceList> list;
    const std::string res_path = path + ".resources";
    NODEPACK_ASSIGN(list, r.resources(*res, "requests", res_path));
    c.requests = list.value_or(ResourceList{});
    NODEPACK_ASSIGN(list, r.resources(*res, "limits", res_path));
    c.limits = list.value_or(ResourceList{});
  }
  return c;
}

Result<ContainerStatus> parse_container_status(const PodReader& r, const json::value& v, const std::string& path) {
  if (!v.is_object()) {
    return r.error(path, "expected an object");
  }
  const json::object& o = v.get_object();
  ContainerStatus s;
  NODEPACK_ASSIGN(s.name, r.string(o, "name", path));
  NODEPACK_ASSIGN(s.container_id, r.string(o, "containerID", path));
  NODEPACK_ASSIGN(s.restart_count, r.integer(o, "restartCount", path));
  NODEPACK_ASSIGN(s.allocated_resources, r.resources(o, "allocatedResources", path));
  const json::object* res = nullptr;
  NODEPACK_ASSIGN(res, r.object(o, "resources", path));
  if (res != nullptr) {
    ContainerStatusResources status_resources;
    const std::string res_path = path + ".resources";
    NODEPACK_ASSIGN(status_resources.requests, r.resources(*res, "requests", res_path));
    NODEPACK_ASSIGN(status_resources.limits, r.resources(*res, "limits", res_path));
    s.resources = std::move(status_resources);
  }
  // Read leniently: the state changes no request, so a malformed one must not cost the pod.
  const json::value* state = PodReader::field(o, "state");
  if (state != nullptr && state->is_object()) {
    for (const char* which : {"running", "waiting", "terminated"}) {
      if (PodReader::field(state->get_object(), which) != nullptr) {
        s.state = which;
        break;
      }
    }
    const json::value* running = PodReader::field(state->get_object(), "running");
    const json::value* started =
        running != nullptr && running->is_object() ? PodReader::field(running->get_object(), "startedAt") : nullptr;
    if (started != nullptr && started->is_string()) {
      s.started_at = std::string(started->get_string());
    }
  }
  return s;
}

template <class T, class ParseOne>
Result<std::vector<T>> parse_list(const PodReader& r, const json::object& parent, std::string_view key,
                                  std::string_view parent_path, ParseOne parse_one) {
  const json::array* items = nullptr;
  NODEPACK_ASSIGN(items, r.array(parent, key, parent_path));
  std::vector<T> out;
  if (items == nullptr) {
    return out;
  }
  out.reserve(items->size());
  const std::string path = join_path(parent_path, key);
  for (std::size_t i = 0; i < items->size(); ++i) {
    T item;
    NODEPACK_ASSIGN(item, parse_one(r, (*items)[i], path + "[" + std::to_string(i) + "]"));
    out.push_back(std::move(item));
  }
  return out;
}

Result<OwnerReference> parse_owner(const PodReader& r, const json::value& v, const std::string& path) {
  if (!v.is_object()) {
    return r.error(path, "expected an object");
  }
  OwnerReference owner;
  NODEPACK_ASSIGN(owner.kind, r.string(v.get_object(), "kind", path));
  NODEPACK_ASSIGN(owner.name, r.string(v.get_object(), "name", path));
  return owner;
}

Result<PodCondition> parse_condition(const PodReader& r, const json::value& v, const std::string& path) {
  if (!v.is_object()) {
    return r.error(path, "expected an object");
  }
  PodCondition condition;
  NODEPACK_ASSIGN(condition.type, r.string(v.get_object(), "type", path));
  NODEPACK_ASSIGN(condition.status, r.string(v.get_object(), "status", path));
  NODEPACK_ASSIGN(condition.reason, r.string(v.get_object(), "reason", path));
  return condition;
}

Result<std::map<std::string, std::string, std::less<>>> parse_labels(const PodReader& r, const json::object& metadata) {
  const json::object* labels = nullptr;
  NODEPACK_ASSIGN(labels, r.object(metadata, "labels", "metadata"));
  std::map<std::string, std::string, std::less<>> out;
  if (labels == nullptr) {
    return out;
  }
  for (const auto& entry : *labels) {
    if (!entry.value().is_string()) {
      return r.error("metadata.labels." + std::string(entry.key()), "expected a string");
    }
    out.emplace(std::string(entry.key()), std::string(entry.value().get_string()));
  }
  return out;
}

Result<Pod> parse_metadata(PodReader& r, const json::object& root) {
  Pod pod;
  const json::object* metadata = nullptr;
  NODEPACK_ASSIGN(metadata, r.object(root, "metadata", ""));
  if (metadata == nullptr) {
    return r.error("metadata", "missing");
  }
  NODEPACK_ASSIGN(pod.name, r.string(*metadata, "name", "metadata"));
  NODEPACK_ASSIGN(pod.namespace_name, r.string(*metadata, "namespace", "metadata"));
  r.set_pod_key(pod.key());
  NODEPACK_ASSIGN(pod.uid, r.string(*metadata, "uid", "metadata"));
  NODEPACK_ASSIGN(pod.resource_version, r.string(*metadata, "resourceVersion", "metadata"));
  NODEPACK_ASSIGN(pod.deletion_timestamp, r.optional_string(*metadata, "deletionTimestamp", "metadata"));
  NODEPACK_ASSIGN(pod.labels, parse_labels(r, *metadata));
  NODEPACK_ASSIGN(pod.owner_references,
                  parse_list<OwnerReference>(r, *metadata, "ownerReferences", "metadata", parse_owner));
  return pod;
}

Result<void> parse_spec(const PodReader& r, const json::object& root, Pod& pod) {
  const json::object* spec = nullptr;
  NODEPACK_ASSIGN(spec, r.object(root, "spec", ""));
  if (spec == nullptr) {
    return {};
  }
  NODEPACK_ASSIGN(pod.node_name, r.string(*spec, "nodeName", "spec"));
  NODEPACK_ASSIGN(pod.containers, parse_list<Container>(r, *spec, "containers", "spec", parse_container));
  NODEPACK_ASSIGN(pod.init_containers, parse_list<Container>(r, *spec, "initContainers", "spec", parse_container));
  std::optional<ResourceList> overhead;
  NODEPACK_ASSIGN(overhead, r.resources(*spec, "overhead", "spec"));
  pod.overhead = overhead.value_or(ResourceList{});
  const json::object* pod_resources = nullptr;
  NODEPACK_ASSIGN(pod_resources, r.object(*spec, "resources", "spec"));
  if (pod_resources != nullptr) {
    NODEPACK_ASSIGN(pod.pod_level_requests, r.resources(*pod_resources, "requests", "spec.resources"));
  }
  return {};
}

Result<void> parse_status(const PodReader& r, const json::object& root, Pod& pod) {
  const json::object* status = nullptr;
  NODEPACK_ASSIGN(status, r.object(root, "status", ""));
  if (status == nullptr) {
    return {};
  }
  NODEPACK_ASSIGN(pod.phase, r.string(*status, "phase", "status"));
  NODEPACK_ASSIGN(pod.container_statuses,
                  parse_list<ContainerStatus>(r, *status, "containerStatuses", "status", parse_container_status));
  NODEPACK_ASSIGN(pod.init_container_statuses,
                  parse_list<ContainerStatus>(r, *status, "initContainerStatuses", "status", parse_container_status));
  NODEPACK_ASSIGN(pod.conditions, parse_list<PodCondition>(r, *status, "conditions", "status", parse_condition));
  return {};
}

}  // namespace

Result<Pod> parse_pod(const boost::json::value& json) {
  const json::object* root = json.if_object();
  if (root == nullptr) {
    return fail("pod: expected a JSON object, got " + std::string(json::to_string(json.kind())));
  }
  PodReader reader;
  Result<Pod> pod = parse_metadata(reader, *root);
  if (!pod) {
    return pod;
  }
  if (auto spec = parse_spec(reader, *root, *pod); !spec) {
    return spec.error();
  }
  if (auto status = parse_status(reader, *root, *pod); !status) {
    return status.error();
  }
  return pod;
}

#undef NODEPACK_ASSIGN

}  // namespace nodepack::kube
