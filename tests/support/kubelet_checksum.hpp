#pragma once

// Kubelet checkpoint files with the checksum the kubelet would have stored, for tests that need
// content of their own: the agent refuses a file whose checksum matches no layout, as the
// kubelet does, so a test cannot simply write a placeholder.

#include "numa/checkpoint.hpp"

#include <catch2/catch.hpp>

#include <cstddef>
#include <string>

namespace nodepack::testing {

// `json` with its one top-level checksum field ("checksum" or "Checksum", a number) set to what
// `layout` hashes the content to, as the parser `parse` computes it.
template <class Parse>
std::string with_kubelet_checksum(std::string json, Parse parse, const std::string& layout) {
  std::size_t key = json.find("\"checksum\":");
  if (key == std::string::npos) {
    key = json.find("\"Checksum\":");
  }
  REQUIRE(key != std::string::npos);
  const std::size_t value = key + std::string("\"checksum\":").size();
  std::size_t end = value;
  while (end < json.size() && json[end] >= '0' && json[end] <= '9') {
    ++end;
  }
  REQUIRE(end > value);
  // A non-zero placeholder that no layout reproduces: every layout is tried and says what it
  // computes.
  json.replace(value, end - value, "1");
  auto parsed = parse(json);
  REQUIRE(parsed.has_value());
  const auto& check = parsed->checksum;
  for (std::size_t i = 0; i < check.tried.size(); ++i) {
    if (check.tried[i] == layout) {
      json.replace(value, 1, std::to_string(check.computed.at(i)));
      return json;
    }
  }
  FAIL("layout " << layout << " was not tried for " << json);
  return json;
}

}  // namespace nodepack::testing
