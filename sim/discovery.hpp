#pragma once

// The discovery documents kubectl and client libraries read before they touch a resource:
// /api (APIVersions), /api/v1 and /apis/GROUP/VERSION (APIResourceList), /apis (APIGroupList).

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace nodepack::sim {

boost::json::object api_versions(const std::string& server_address);
boost::json::object api_group_list();
// nullopt when the server has no such group version.
std::optional<boost::json::object> api_resource_list(std::string_view group, std::string_view version);

}  // namespace nodepack::sim
