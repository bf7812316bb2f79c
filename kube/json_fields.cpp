#include "kube/json_fields.hpp"

namespace nodepack::kube {

const boost::json::object* object_field(const boost::json::object& parent, std::string_view key) {
  const auto* value = parent.if_contains(key);
  return value == nullptr ? nullptr : value->if_object();
}

std::string string_field(const boost::json::object& parent, std::string_view key) {
  const auto* value = parent.if_contains(key);
  if (value == nullptr || !value->is_string()) {
    return {};
  }
  return std::string(value->get_string());
}

Result<std::map<std::string, std::string>> string_map_field(const boost::json::object& parent, std::string_view key) {
  std::map<std::string, std::string> out;
  const auto* value = parent.if_contains(key);
  if (value == nullptr || value->is_null()) {
    return out;
  }
  const auto* object = value->if_object();
  if (object == nullptr) {
    return fail("expected an object of strings");
  }
  for (const auto& [k, v] : *object) {
    if (!v.is_string()) {
      return fail("value of \"" + std::string(k) + "\" is not a string");
    }
    out.emplace(std::string(k), std::string(v.get_string()));
  }
  return out;
}

}  // namespace nodepack::kube
