#include "common/duration.hpp"

#include <catch2/catch.hpp>

using namespace std::chrono;
using nodepack::format_go_duration;
using nodepack::parse_go_duration;

TEST_CASE("Go durations parse like time.ParseDuration") {
  CHECK(*parse_go_duration("30m") == minutes(30));
  CHECK(*parse_go_duration("1h30m") == minutes(90));
  CHECK(*parse_go_duration("1.5s") == milliseconds(1500));
  CHECK(*parse_go_duration("500ms") == milliseconds(500));
  CHECK(*parse_go_duration("2h45m10s") == hours(2) + minutes(45) + seconds(10));
  CHECK(*parse_go_duration("0") == nanoseconds(0));
  CHECK(*parse_go_duration("10us") == microseconds(10));
  for (const char* bad : {"", "30", "m", "1.2.3s", "5x", "1h-3m", "abc"}) {
    INFO(bad);
    auto r = parse_go_duration(bad);
    REQUIRE_FALSE(r.has_value());
  }
}

TEST_CASE("Go durations format like time.Duration.String") {
  CHECK(format_go_duration(minutes(30)) == "30m0s");
  CHECK(format_go_duration(minutes(90)) == "1h30m0s");
  CHECK(format_go_duration(seconds(1)) == "1s");
  CHECK(format_go_duration(milliseconds(1500)) == "1.5s");
  CHECK(format_go_duration(milliseconds(250)) == "250ms");
  CHECK(format_go_duration(nanoseconds(0)) == "0s");
  CHECK(format_go_duration(hours(2)) == "2h0m0s");
}
