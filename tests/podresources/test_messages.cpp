// The pod-resources answers decoded from their protobuf bytes: what protobuf's own encoder makes
// of every fixture decodes to the same fields, the encodings a parser must accept (packed and
// unpacked repeated fields, negative int64, unknown fields of every wire type, a message field
// given twice) are accepted, and bytes that break the wire format are errors.

#include "podresources/messages.hpp"

#include "podresources/api.pb.h"
#include "tests/support/fake_podresources.hpp"
#include "tests/support/fixtures.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace nodepack;
using namespace nodepack::podresources;
using nodepack::testing::FakePodResources;

namespace {

std::string fixture(const std::string& shape, const std::string& name) {
  return testing::read_file(testing::fixtures() / "podresources" / shape / name);
}

// Hand encoding, so the tests say byte by byte what is on the wire.
std::string varint(std::uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}
std::string tag(std::uint32_t number, unsigned type) { return varint(std::uint64_t{number} << 3 | type); }
std::string len(std::uint32_t number, const std::string& payload) {
  return tag(number, 2) + varint(payload.size()) + payload;
}
std::string num(std::uint32_t number, std::uint64_t v) { return tag(number, 0) + varint(v); }

std::vector<std::int64_t> ids_of(const v1::TopologyInfo& t) {
  std::vector<std::int64_t> out;
  for (const auto& n : t.nodes()) {
    out.push_back(n.id());
  }
  return out;
}

void check_same_devices(const ContainerDevices& ours, const v1::ContainerDevices& theirs) {
  CHECK(ours.resource_name == theirs.resource_name());
  CHECK(ours.device_ids == std::vector<std::string>(theirs.device_ids().begin(), theirs.device_ids().end()));
  CHECK(ours.topology.nodes == ids_of(theirs.topology()));
}

void check_same_memory(const ContainerMemory& ours, const v1::ContainerMemory& theirs) {
  CHECK(ours.memory_type == theirs.memory_type());
  CHECK(ours.size == theirs.size());
  CHECK(ours.topology.nodes == ids_of(theirs.topology()));
}

template <class Ours, class Theirs, class Check>
void check_each(const std::vector<Ours>& ours, const Theirs& theirs, Check&& check) {
  REQUIRE(ours.size() == static_cast<std::size_t>(theirs.size()));
  for (std::size_t i = 0; i < ours.size(); ++i) {
    check(ours[i], theirs[static_cast<int>(i)]);
  }
}

}  // namespace

TEST_CASE("every fixture decodes to the fields protobuf's own classes hold") {
  for (const std::string shape : {"gb200-like", "16em64t-4s2c2t"}) {
    INFO(shape);
    const auto list = FakePodResources::list_from_json(fixture(shape, "list.json"));
    const auto ours = decode_list_response(list.SerializeAsString());
    REQUIRE(ours.has_value());
    check_each(ours->pod_resources, list.pod_resources(), [](const PodResources& p, const v1::PodResources& q) {
      CHECK(p.name == q.name());
      CHECK(p.namespace_ == q.namespace_());
      check_each(p.containers, q.containers(), [](const ContainerResources& c, const v1::ContainerResources& d) {
        CHECK(c.name == d.name());
        CHECK(c.cpu_ids == std::vector<std::int64_t>(d.cpu_ids().begin(), d.cpu_ids().end()));
        check_each(c.devices, d.devices(), check_same_devices);
        check_each(c.memory, d.memory(), check_same_memory);
      });
    });
  }
  const auto alloc = FakePodResources::allocatable_from_json(fixture("gb200-like", "allocatable.json"));
  const auto ours = decode_allocatable_response(alloc.SerializeAsString());
  REQUIRE(ours.has_value());
  CHECK(ours->cpu_ids == std::vector<std::int64_t>(alloc.cpu_ids().begin(), alloc.cpu_ids().end()));
  CHECK(ours->cpu_ids.size() == 140);  // "2-71,74-143"
  check_each(ours->devices, alloc.devices(), check_same_devices);
  check_each(ours->memory, alloc.memory(), check_same_memory);
}

TEST_CASE("the encodings a parser must accept") {
  SECTION("cpu_ids packed, one by one, and mixed, in order") {
    const std::string container = len(1, "c") + len(3, varint(4) + varint(5)) + num(3, 6) + len(3, varint(300));
    const auto r = decode_list_response(len(1, len(3, container)));
    REQUIRE(r.has_value());
    CHECK(r->pod_resources.at(0).containers.at(0).cpu_ids == std::vector<std::int64_t>{4, 5, 6, 300});
  }
  SECTION("negative int64 as ten-byte two's complement, and the kubelet's -1 NUMA id") {
    const std::string topology = len(1, num(1, static_cast<std::uint64_t>(std::int64_t{-1})));
    const auto r = decode_allocatable_response(num(2, static_cast<std::uint64_t>(std::int64_t{-4})) +
                                               len(1, len(1, "nvidia.com/gpu") + len(3, topology)));
    REQUIRE(r.has_value());
    CHECK(r->cpu_ids == std::vector<std::int64_t>{-4});
    CHECK(r->devices.at(0).topology.nodes == std::vector<std::int64_t>{-1});
  }
  SECTION("unknown fields of every wire type are skipped, a later kubelet's included") {
    const std::string unknown = num(9, 7) + tag(10, 1) + std::string(8, '\x01') + len(11, len(1, "nested")) +
                                tag(12, 5) + std::string(4, '\x02');
    const std::string memory = unknown + len(1, "memory") + num(2, 1ull << 34) + unknown;
    const std::string container = len(1, "c") + len(4, memory) + len(5, len(1, "dra-class"));  // 5: dynamic_resources
    const auto r = decode_list_response(unknown + len(1, len(1, "p") + len(2, "ns") + len(3, container)) + unknown);
    REQUIRE(r.has_value());
    const auto& pod = r->pod_resources.at(0);
    CHECK(pod.name == "p");
    CHECK(pod.namespace_ == "ns");
    CHECK(pod.containers.at(0).memory.at(0).memory_type == "memory");
    CHECK(pod.containers.at(0).memory.at(0).size == 1ull << 34);
  }
  SECTION("a message field given twice is merged; a scalar given twice keeps the last") {
    const std::string memory = len(1, "a") + len(3, len(1, num(1, 0))) + len(1, "memory") + len(3, len(1, num(1, 1)));
    const auto r = decode_allocatable_response(len(3, memory));
    REQUIRE(r.has_value());
    CHECK(r->memory.at(0).memory_type == "memory");
    CHECK(r->memory.at(0).topology.nodes == std::vector<std::int64_t>{0, 1});
  }
  SECTION("an empty answer is an empty list") {
    const auto r = decode_list_response("");
    REQUIRE(r.has_value());
    CHECK(r->pod_resources.empty());
  }
}

TEST_CASE("bytes that break the wire format are errors, never a partial answer") {
  const std::string good = len(1, len(1, "p") + len(3, len(1, "c") + len(3, varint(4))));
  REQUIRE(decode_list_response(good).has_value());
  const auto error = [](const std::string& bytes) {
    const auto r = decode_list_response(bytes);
    REQUIRE_FALSE(r.has_value());
    return r.error().message;
  };
  // Every strict prefix of a well-formed answer ends mid-field somewhere.
  for (std::size_t n = 1; n < good.size(); ++n) {
    INFO(n);
    CHECK_FALSE(decode_list_response(good.substr(0, n)).has_value());
  }
  CHECK(error(tag(1, 2) + varint(10) + "abc") == "ListPodResourcesResponse: field 1 claims 10 bytes, 3 remain");
  CHECK(error(tag(1, 3)) == "ListPodResourcesResponse: field 1 has wire type 3, which this decoder does not accept");
  CHECK(error(std::string("\x00", 1)) == "ListPodResourcesResponse: field number 0 is not a protobuf field number");
  CHECK(error(tag(2, 0) + std::string(10, '\xff') + "\x01") == "ListPodResourcesResponse: varint longer than 64 bits");
  CHECK(error(tag(2, 0) + std::string(9, '\xff') + "\x02") == "ListPodResourcesResponse: varint longer than 64 bits");
  CHECK(error(tag(2, 1) + "1234") == "ListPodResourcesResponse: truncated fixed64 field");
  // A broken field deep inside (a packed run that ends mid-varint) fails the whole answer.
  CHECK(error(len(1, len(3, len(3, "\x80")))) == "ListPodResourcesResponse: truncated varint");
}
