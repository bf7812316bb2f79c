#pragma once

#include "common/result.hpp"
#include "kube/resource_list.hpp"

#include <boost/json/value.hpp>

#include <map>
#include <string>

namespace nodepack::kube {

// The parts of a core/v1 Node that binpacking needs.
struct Node {
  std::string name;
  std::string uid;
  std::string resource_version;
  std::map<std::string, std::string> labels;
  ResourceList allocatable;
  ResourceList capacity;
};

Result<Node> parse_node(const boost::json::value& json);

}  // namespace nodepack::kube
