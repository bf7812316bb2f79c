#pragma once

// The kinds the simulated API server serves, with what discovery and kubectl need to know about
// each: group, version, plural, scope, verbs, short names, field selectors.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace nodepack::sim {

// In the order of resource_types().
enum class Kind {
  pod,
  node,
  service,
  event,
  endpoint_slice,
  lease,
  node_resource_topology,
};
inline constexpr std::size_t kind_count = 7;

struct ResourceType {
  Kind kind;
  std::string_view group;  // "" for the core group
  std::string_view version;
  std::string_view resource;  // plural, as in URLs: "pods"
  std::string_view singular;
  std::string_view kind_name;  // "Pod"
  bool namespaced;
  std::vector<std::string_view> verbs;
  std::vector<std::string_view> short_names;
  std::vector<std::string_view> field_selectors;  // beyond metadata.name and metadata.namespace
};

const std::vector<ResourceType>& resource_types();
const ResourceType& type_of(Kind kind);
// "v1" for the core group, else "group/version".
std::string api_version(const ResourceType& type);

std::string_view kind_name(Kind kind);      // "Pod"
std::string_view resource_name(Kind kind);  // "pods"
bool is_namespaced(Kind kind);

}  // namespace nodepack::sim
