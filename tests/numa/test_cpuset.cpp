#include "numa/cpuset.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <functional>
#include <new>
#include <string>
#include <vector>

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

TEST_CASE("cpuset ids are bounded: the hard cap, or the machine's CPU count when known") {
  // Linux has at most 8192 CPUs; ids from 16384 on name no CPU of any machine.
  REQUIRE(CpuSet::parse("0-16383").has_value());
  CHECK(CpuSet::parse("0-16383")->size() == 16384);
  for (const char* beyond : {"16384", "0-16384", "3,16384-16385", "65535"}) {
    INFO(beyond);
    auto s = CpuSet::parse(beyond);
    REQUIRE_FALSE(s.has_value());
    CHECK(s.error().reason == nodepack::numa::CpuSetError::out_of_range);
  }
  // A 16-CPU machine: the kubelet can only name CPUs 0-15 there.
  CHECK(CpuSet::parse("0-15", 16)->to_string() == "0-15");
  auto beyond = CpuSet::parse("0,14-16", 16);
  REQUIRE_FALSE(beyond.has_value());
  CHECK(beyond.error().reason == nodepack::numa::CpuSetError::out_of_range);
  CHECK(beyond.error().message == "cpu id 16 in \"14-16\" is out of range: this machine has no CPU above 15");
  // A machine's count never lifts the hard cap.
  CHECK_FALSE(CpuSet::parse("20000", 1 << 20).has_value());
  // Malformed text is a syntax error, and a long one is quoted by its start only.
  auto bad = CpuSet::parse(std::string(100000, '1') + "x");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().reason == nodepack::numa::CpuSetError::syntax);
  CHECK(bad.error().message.size() < 300);
}

namespace {

// Bytes handed out by operator new in this test binary, to see what a parse allocates.
std::atomic<std::size_t> allocated_bytes{0};

std::size_t bytes_allocated_by(const std::function<void()>& f) {
  const std::size_t before = allocated_bytes.load();
  f();
  return allocated_bytes.load() - before;
}

}  // namespace

void* operator new(std::size_t n) {
  allocated_bytes.fetch_add(n, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) {
    return p;
  }
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

TEST_CASE("cpuset parsing costs memory in proportion to the text, not to the ranges") {
  // The kubelet's defaultCpuSet field repeating the widest range: 16 KiB once cost ~0.5 GB
  // (every id of every range expanded), 1 MiB more than the machine had.
  auto repeated = [](std::size_t bytes) {
    std::string text;
    while (text.size() < bytes) {
      text += text.empty() ? "0-16383" : ",0-16383";
    }
    return text;
  };
  for (std::size_t bytes : {std::size_t{16} << 10, std::size_t{1} << 20}) {
    INFO(bytes << " bytes");
    const std::string text = repeated(bytes);
    std::size_t size = 0;
    std::string printed;
    const std::size_t used = bytes_allocated_by([&] {
      auto s = CpuSet::parse(text);
      REQUIRE(s.has_value());
      size = s->size();
      printed = s->to_string();
    });
    // One range (8 bytes) per comma-separated part while parsing, one 8-byte part each here, then
    // the merged result: about the text's size, however many ids the ranges span.
    REQUIRE(used <= 2 * text.size());
    CHECK(size == 16384);
    CHECK(printed == "0-16383");
  }
  // Many distinct ranges: still a range each, merged after one sort.
  std::string odd;
  for (int id = 16383; id >= 1; id -= 2) {
    odd += (odd.empty() ? "" : ",") + std::to_string(id);
  }
  auto s = CpuSet::parse(odd);
  REQUIRE(s.has_value());
  CHECK(s->size() == 8192);
  CHECK(s->ranges().size() == 8192);
  CHECK(s->contains(16383));
  CHECK_FALSE(s->contains(16382));
  CHECK(s->united(CpuSet::parse("0-16382,16383")->without(*s)).to_string() == "0-16383");
}

TEST_CASE("cpuset set operations on ranges") {
  const CpuSet a = *CpuSet::parse("0-9,20-29,40");
  const CpuSet b = *CpuSet::parse("5-24,39-41");
  CHECK(a.united(b).to_string() == "0-29,39-41");
  CHECK(a.intersected(b).to_string() == "5-9,20-24,40");
  CHECK(a.without(b).to_string() == "0-4,25-29");
  CHECK(b.without(a).to_string() == "10-19,39,41");
  CHECK(a.without(CpuSet::parse("0-100").value()).empty());
  CHECK(CpuSet::parse("2-3,5")->is_subset_of(a));
  CHECK_FALSE(CpuSet::parse("9-10")->is_subset_of(a));
  CHECK(CpuSet{3, 1, 2, 2, 7}.to_string() == "1-3,7");
  CHECK(CpuSet{3, 1, 2, 2, 7}.size() == 4);
  CHECK(CpuSet{3, 1, 2, 2, 7}.ids() == std::vector<int>{1, 2, 3, 7});
  CHECK(CpuSet::from_ranges({{5, 9}, {0, 2}, {3, 4}, {7, 12}}).to_string() == "0-12");
  CHECK(CpuSet{}.max_id() == -1);
  CHECK(a.max_id() == 40);
  CHECK(a.contains(0));
  CHECK(a.contains(25));
  CHECK_FALSE(a.contains(30));
  CHECK_FALSE(a.contains(-1));
}
