#pragma once

// Lenient accessors for Kubernetes JSON: absent or null fields read as empty, wrong types are
// errors only where the caller asks for a checked read.

#include "common/result.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <map>
#include <string>
#include <string_view>

namespace nodepack::kube {

// The field as an object, or nullptr when absent, null or not an object.
const boost::json::object* object_field(const boost::json::object& parent, std::string_view key);
// The field as a string, or "" when absent, null or not a string.
std::string string_field(const boost::json::object& parent, std::string_view key);
// A map of string to string (labels, annotations); absent or null is empty; other types fail.
Result<std::map<std::string, std::string>> string_map_field(const boost::json::object& parent, std::string_view key);

}  // namespace nodepack::kube
