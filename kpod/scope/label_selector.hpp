#pragma once

// A Kubernetes label selector as kpod-metrics' `label-selector` and kubectl's `-l` take it:
// comma-separated requirements that must all hold. `key=value` (or `==`), `key!=value`, `key`,
// `!key`, `key in (a,b)`, `key notin (a,b)`. `!=` and `notin` also match pods without the key,
// as in Kubernetes.

#include "cgroup/pod_lookup.hpp"
#include "common/result.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace nodepack::kpod {

class LabelSelector {
 public:
  // The empty selector matches every pod.
  static Result<LabelSelector> parse(std::string_view text);

  bool matches(const cgroup::LabelMap& labels) const;
  bool empty() const { return requirements_.empty(); }

 private:
  enum class Op { in, not_in, exists, not_exists };
  struct Requirement {
    std::string key;
    Op op;
    std::vector<std::string> values;  // for in / not_in (`=` is `in` with one value)
  };
  std::vector<Requirement> requirements_;
};

}  // namespace nodepack::kpod
