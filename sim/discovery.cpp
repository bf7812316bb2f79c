#include "sim/discovery.hpp"

#include "sim/resources.hpp"

#include <boost/json/array.hpp>

#include <map>
#include <vector>

namespace nodepack::sim {

namespace json = boost::json;

namespace {

// Groups with no stored kinds, only the reviews the API server answers on POST.
struct ReviewResource {
  std::string_view group;
  std::string_view resource;
  std::string_view kind;
};
constexpr ReviewResource reviews[] = {
    {"authentication.k8s.io", "tokenreviews", "TokenReview"},
    {"authorization.k8s.io", "subjectaccessreviews", "SubjectAccessReview"},
};

json::array strings(const std::vector<std::string_view>& items) {
  json::array out;
  for (auto s : items) {
    out.emplace_back(s);
  }
  return out;
}

}  // namespace

json::object api_versions(const std::string& server_address) {
  return json::object{{"kind", "APIVersions"},
                      {"versions", json::array{"v1"}},
                      {"serverAddressByClientCIDRs",
                       json::array{json::object{{"clientCIDR", "0.0.0.0/0"}, {"serverAddress", server_address}}}}};
}

json::object api_group_list() {
  std::map<std::string, std::string> groups;  // group -> its one version
  for (const auto& type : resource_types()) {
    if (!type.group.empty()) {
      groups.emplace(std::string(type.group), std::string(type.version));
    }
  }
  for (const auto& review : reviews) {
    groups.emplace(std::string(review.group), "v1");
  }
  json::array list;
  for (const auto& [group, version] : groups) {
    json::object gv{{"groupVersion", group + "/" + version}, {"version", version}};
    list.push_back(json::object{{"name", group}, {"versions", json::array{gv}}, {"preferredVersion", gv}});
  }
  return json::object{{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", std::move(list)}};
}

std::optional<json::object> api_resource_list(std::string_view group, std::string_view version) {
  json::array resources;
  for (const auto& type : resource_types()) {
    if (type.group != group || type.version != version) {
      continue;
    }
    json::object r{{"name", type.resource},
                   {"singularName", type.singular},
                   {"namespaced", type.namespaced},
                   {"kind", type.kind_name},
                   {"verbs", strings(type.verbs)}};
    if (!type.short_names.empty()) {
      r["shortNames"] = strings(type.short_names);
    }
    if (type.kind == Kind::pod) {
      r["categories"] = json::array{"all"};
    }
    resources.push_back(std::move(r));
  }
  for (const auto& review : reviews) {
    if (review.group == group && version == "v1") {
      resources.push_back(json::object{{"name", review.resource},
                                       {"singularName", ""},
                                       {"namespaced", false},
                                       {"kind", review.kind},
                                       {"verbs", json::array{"create"}}});
    }
  }
  if (resources.empty()) {
    return std::nullopt;
  }
  const std::string group_version =
      group.empty() ? std::string(version) : std::string(group) + "/" + std::string(version);
  return json::object{{"kind", "APIResourceList"},
                      {"apiVersion", "v1"},
                      {"groupVersion", group_version},
                      {"resources", std::move(resources)}};
}

}  // namespace nodepack::sim
