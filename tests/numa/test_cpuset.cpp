#include "numa/cpuset.hpp"

#include <catch2/catch.hpp>

using nodepack::numa::CpuSet;

TEST_CASE("cpuset parses the Linux list format") {
  auto s = CpuSet::parse("0-3,8,10-11");
  REQUIRE(s.has_value());
  CHECK(s->ids() == std::vector<int>{0, 1, 2, 3, 8, 10, 11});
  CHECK(s->to_string() == "0-3,8,10-11");
  CHECK(CpuSet::parse("")->empty());
  CHECK(CpuSet::parse("5,1,3-4")->to_string() == "1,3-5");
  CHECK(CpuSet::parse("2-2")->to_string() == "2");
}

TEST_CASE("cpuset refuses what the kubelet refuses") {
  for (const char* bad : {"a", "1-", "-1", "3-1", "1,,2", "1-2-3", " 1", "1.3", ",", "0-70000"}) {
    INFO(bad);
    CHECK_FALSE(CpuSet::parse(bad).has_value());
  }
}

TEST_CASE("cpuset set operations") {
  const CpuSet a{0, 1, 2, 3};
  const CpuSet b{2, 3, 4};
  CHECK(a.united(b).to_string() == "0-4");
  CHECK(a.intersected(b).to_string() == "2-3");
  CHECK(a.without(b).to_string() == "0-1");
  CHECK(CpuSet{2, 3}.is_subset_of(a));
  CHECK_FALSE(b.is_subset_of(a));
}
