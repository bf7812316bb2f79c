#include "tests/support/test_registry.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

namespace nodepack::testing {

std::vector<kpod::CollectorSpec> pick_specs(const std::vector<kpod::CollectorSpec>& all,
                                            const std::vector<std::string>& names) {
  std::vector<kpod::CollectorSpec> out;
  for (const auto& name : names) {
    auto it = std::find_if(all.begin(), all.end(), [&](const kpod::CollectorSpec& s) { return s.name == name; });
    REQUIRE(it != all.end());
    out.push_back(*it);
  }
  return out;
}

}  // namespace nodepack::testing
