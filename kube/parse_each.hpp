#pragma once

// A list's items parsed one by one: what parsed goes on, what did not is reported. A malformed
// object costs only itself, never the rest of the list (the reflectors' sinks all work so).

#include "common/result.hpp"

#include <boost/json/value.hpp>

#include <string>
#include <utility>
#include <vector>

namespace nodepack::kube {

// Parses every item with `parse` (parse_pod, parse_node, ...), hands each result that parsed to
// `each`, and returns the messages of those that did not, "; "-joined (empty: every one parsed).
template <class Parse, class Each>
std::string parse_each(const std::vector<boost::json::value>& items, Parse&& parse, Each&& each) {
  std::string errors;
  for (const auto& item : items) {
    auto parsed = parse(item);
    if (!parsed) {
      errors += (errors.empty() ? "" : "; ") + parsed.error().message;
      continue;
    }
    each(std::move(*parsed));
  }
  return errors;
}

// A sink's answer after a list: a failure naming the objects that did not parse, if any.
inline Result<void> failed_items(const std::string& errors) {
  if (errors.empty()) {
    return {};
  }
  return fail(errors);
}

}  // namespace nodepack::kube
