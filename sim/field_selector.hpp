#pragma once

// Kubernetes field selectors (`fieldSelector=`): `field=value`, `field==value`, `field!=value`,
// joined by commas, all must hold. Values may escape `\`, `,` and `=` with a backslash. Which
// fields a kind supports is the caller's business (see supported_fields()).

#include "common/result.hpp"

#include <boost/json/object.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace nodepack::sim {

struct FieldRequirement {
  std::string field;  // dotted path, e.g. "spec.nodeName"
  bool equals = true;
  std::string value;
};

class FieldSelector {
 public:
  // The empty string selects everything. Fields not in `supported` are refused the way the API
  // server refuses them ("field label not supported: ...").
  static Result<FieldSelector> parse(std::string_view text, const std::vector<std::string_view>& supported);

  // A missing field reads as "" (so `spec.nodeName=` selects unscheduled pods).
  bool matches(const boost::json::object& object) const;
  bool empty() const { return requirements_.empty(); }
  const std::vector<FieldRequirement>& requirements() const { return requirements_; }

 private:
  std::vector<FieldRequirement> requirements_;
};

// The string value at a dotted path, "" when absent or not a string.
std::string_view field_value(const boost::json::object& object, std::string_view path);

}  // namespace nodepack::sim
