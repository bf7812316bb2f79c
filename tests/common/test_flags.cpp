#include "common/flags.hpp"

#include <catch2/catch.hpp>

using nodepack::FlagSet;

TEST_CASE("flags accept both --name=value and --name value, and bare booleans") {
  std::string addr = ":9101";
  bool disable = false;
  std::int64_t page = 500;
  std::vector<std::string> groups;
  FlagSet flags("test");
  flags.add_string("metrics-addr", "", addr);
  flags.add_bool("disable-node-metrics", "", disable);
  flags.add_int("list-page-size", "", page);
  flags.add_list("label-group", "", groups);
  REQUIRE(flags.parse({"--metrics-addr=127.0.0.1:0", "--disable-node-metrics", "--list-page-size", "0",
                       "--label-group=zone", "-label-group", "zone,type"}));
  CHECK(addr == "127.0.0.1:0");
  CHECK(disable);
  CHECK(page == 0);
  CHECK(groups == std::vector<std::string>{"zone", "zone,type"});
}

TEST_CASE("flags reject unknown names, missing values and bad values with the flag named") {
  std::string s;
  bool b = false;
  std::int64_t n = 0;
  FlagSet flags("test");
  flags.add_string("name", "", s);
  flags.add_bool("flag", "", b);
  flags.add_int("count", "", n);
  auto unknown = flags.parse({"--nope=1"});
  REQUIRE_FALSE(unknown.has_value());
  CHECK(unknown.error().message == "unknown flag --nope");
  auto missing = flags.parse({"--name"});
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().message == "flag --name needs a value");
  auto bad_int = flags.parse({"--count=12x"});
  REQUIRE_FALSE(bad_int.has_value());
  CHECK(bad_int.error().message == "invalid value for --count: want a non-negative integer, got \"12x\"");
  auto bad_bool = flags.parse({"--flag=maybe"});
  REQUIRE_FALSE(bad_bool.has_value());
  CHECK(bad_bool.error().message.find("want true or false") != std::string::npos);
  auto positional = flags.parse({"stray"});
  REQUIRE_FALSE(positional.has_value());
  CHECK(positional.error().message == "unexpected argument \"stray\"");
}

TEST_CASE("split_list trims and drops empty items") {
  CHECK(nodepack::split_list(" cpu, memory,,nvidia.com/gpu ") ==
        std::vector<std::string>{"cpu", "memory", "nvidia.com/gpu"});
  CHECK(nodepack::split_list("").empty());
}
