#pragma once

// Kubernetes label selectors in the string form the API takes (`labelSelector=`): equality
// (`a=b`, `a==b`, `a!=b`), set-based (`a in (x,y)`, `a notin (x)`), existence (`a`, `!a`),
// requirements joined by commas and all of them must hold.

#include "common/result.hpp"

#include <boost/json/object.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace nodepack::sim {

struct LabelRequirement {
  enum class Op { equals, not_equals, in, not_in, exists, does_not_exist };
  std::string key;
  Op op = Op::exists;
  std::vector<std::string> values;  // one for equals/not_equals, sorted and unique for in/not_in
};

class LabelSelector {
 public:
  // The empty string selects everything.
  static Result<LabelSelector> parse(std::string_view text);

  // `labels` is metadata.labels (string values); null means no labels.
  bool matches(const boost::json::object* labels) const;
  bool empty() const { return requirements_.empty(); }
  const std::vector<LabelRequirement>& requirements() const { return requirements_; }

 private:
  std::vector<LabelRequirement> requirements_;
};

}  // namespace nodepack::sim
