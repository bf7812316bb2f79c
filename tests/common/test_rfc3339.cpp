#include "common/rfc3339.hpp"

#include <catch2/catch.hpp>

using namespace std::chrono;

TEST_CASE("RFC 3339 round trip and offsets") {
  const auto t = nodepack::parse_rfc3339("2026-11-25T04:45:01Z");
  REQUIRE(t);
  CHECK(duration_cast<seconds>(t->time_since_epoch()).count() == 1795581901);
  CHECK(nodepack::format_rfc3339(*t) == "2026-11-25T04:45:01Z");
  const auto with_offset = nodepack::parse_rfc3339("2026-11-25T06:45:01.123+02:00");
  REQUIRE(with_offset);
  CHECK(*with_offset == *t);
  CHECK_FALSE(nodepack::parse_rfc3339("2026-11-25 04:45:01"));
  CHECK_FALSE(nodepack::parse_rfc3339("2026-11-25T04:45:01"));
  CHECK_FALSE(nodepack::parse_rfc3339("yesterday"));
  CHECK_FALSE(nodepack::parse_rfc3339("2026-11-25T04:45:01+ab:cd"));  // no exception either
}
