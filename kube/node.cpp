#include "kube/node.hpp"

#include "kube/json_fields.hpp"

namespace nodepack::kube {

Result<Node> parse_node(const boost::json::value& json) {
  const auto* object = json.if_object();
  if (object == nullptr) {
    return fail("node: expected a JSON object");
  }
  Node node;
  const auto* metadata = object_field(*object, "metadata");
  if (metadata == nullptr) {
    return fail("node: missing metadata");
  }
  node.name = string_field(*metadata, "name");
  if (node.name.empty()) {
    return fail("node: missing metadata.name");
  }
  node.uid = string_field(*metadata, "uid");
  node.resource_version = string_field(*metadata, "resourceVersion");
  if (auto labels = string_map_field(*metadata, "labels"); !labels) {
    return fail("node " + node.name + ": metadata.labels: " + labels.error().message);
  } else {
    node.labels = std::move(*labels);
  }
  if (const auto* status = object_field(*object, "status"); status != nullptr) {
    for (auto [key, target] : {std::pair{"allocatable", &node.allocatable}, std::pair{"capacity", &node.capacity}}) {
      if (const auto* list = status->if_contains(key); list != nullptr && !list->is_null()) {
        auto parsed = parse_resource_list(*list);
        if (!parsed) {
          return fail("node " + node.name + ": status." + key + ": " + parsed.error().message);
        }
        *target = std::move(*parsed);
      }
    }
  }
  return node;
}

}  // namespace nodepack::kube
