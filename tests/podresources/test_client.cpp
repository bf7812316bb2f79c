// The pod-resources client against a fake kubelet on a real unix socket: answers in the NUMA
// model's terms, and each way asking can fail, typed.

#include "podresources/client.hpp"

#include "tests/podresources/expected_answers.hpp"
#include "tests/support/fake_podresources.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/temp_dir.hpp"

#include <catch2/catch.hpp>

using namespace nodepack;
using namespace nodepack::testing;
using numa::PodResourcesError;

namespace {

std::string fixture(const std::string& name) { return read_file(fixtures() / "podresources" / name); }

struct Rig {
  TempDir tmp;
  std::filesystem::path socket = tmp.path() / "pod-resources/kubelet.sock";
  FakePodResources server{socket};

  numa::PodResourcesResult<numa::PodResourcesAnswer> ask(std::chrono::milliseconds deadline = std::chrono::seconds(5),
                                                         std::size_t max_bytes = 16u << 20) {
    podresources::Client client({socket, deadline, max_bytes});
    return client.ask(std::chrono::system_clock::time_point{} + std::chrono::hours(1));
  }
};

}  // namespace

TEST_CASE("a GB200-like node's answer in the NUMA model's terms") {
  Rig rig;
  rig.server.set_list(FakePodResources::list_from_json(fixture("gb200-like/list.json")));
  rig.server.set_allocatable(FakePodResources::allocatable_from_json(fixture("gb200-like/allocatable.json")));
  rig.server.start();
  auto answer = rig.ask();
  REQUIRE(answer.has_value());
  CHECK(answer->taken_at == std::chrono::system_clock::time_point{} + std::chrono::hours(1));
  check_gb200_like_answer(*answer);
  CHECK(rig.server.calls() == 2);  // List and GetAllocatableResources, nothing else
}

TEST_CASE("a kubelet without GetAllocatableResources still answers List") {
  Rig rig;
  rig.server.set_list(FakePodResources::list_from_json(fixture("16em64t-4s2c2t/list.json")));
  rig.server.set_allocatable(std::nullopt);
  rig.server.start();
  auto answer = rig.ask();
  REQUIRE(answer.has_value());
  check_list_only_answer(*answer);
}

TEST_CASE("no socket is said without asking gRPC") {
  Rig rig;
  CHECK(reason(rig.ask()) == PodResourcesError::no_socket);
  std::filesystem::create_directories(rig.socket.parent_path());
  write_file(rig.socket, "not a socket");
  CHECK(reason(rig.ask()) == PodResourcesError::other);
}

TEST_CASE("the kubelet's refusals are typed") {
  Rig rig;
  rig.server.start();
  rig.server.fail_with(grpc::StatusCode::RESOURCE_EXHAUSTED, "rejected by rate limit");
  CHECK(reason(rig.ask()) == PodResourcesError::rate_limited);
  rig.server.fail_with(grpc::StatusCode::UNIMPLEMENTED);
  CHECK(reason(rig.ask()) == PodResourcesError::unimplemented);
  rig.server.fail_with(grpc::StatusCode::PERMISSION_DENIED);
  CHECK(reason(rig.ask()) == PodResourcesError::other);
  rig.server.fail_with(grpc::StatusCode::OK);
  CHECK(rig.ask().has_value());
}

TEST_CASE("a kubelet slower than the deadline is a timeout") {
  Rig rig;
  rig.server.start();
  rig.server.set_delay(std::chrono::milliseconds(600));
  CHECK(reason(rig.ask(std::chrono::milliseconds(100))) == PodResourcesError::timeout);
}

TEST_CASE("garbage is bad_answer, never numbers") {
  Rig rig;
  SECTION("bytes that are no message") {
    rig.server.start_garbage(std::string("\xff\xff\xff\xff\x0f", 5));
    CHECK(reason(rig.ask()) == PodResourcesError::bad_answer);
  }
  SECTION("an answer over the size bound") {
    rig.server.set_list(FakePodResources::list_from_json(fixture("gb200-like/list.json")));
    rig.server.start();
    CHECK(reason(rig.ask(std::chrono::seconds(5), 64)) == PodResourcesError::bad_answer);
  }
  SECTION("a CPU id no machine has") {
    auto list = FakePodResources::list_from_json(fixture("gb200-like/list.json"));
    list.mutable_pod_resources(0)->mutable_containers(0)->add_cpu_ids(-4);
    rig.server.set_list(list);
    rig.server.start();
    const auto r = rig.ask();
    CHECK(reason(r) == PodResourcesError::bad_answer);
    CHECK(r.error().message == "container ml/train/trainer names CPU id -4, which no machine has");
  }
  SECTION("a NUMA id no machine has") {
    auto alloc = FakePodResources::allocatable_from_json(fixture("gb200-like/allocatable.json"));
    alloc.mutable_memory(0)->mutable_topology()->mutable_nodes(0)->set_id(1 << 20);
    rig.server.set_allocatable(alloc);
    rig.server.start();
    CHECK(reason(rig.ask()) == PodResourcesError::bad_answer);
  }
}

TEST_CASE("something that is not gRPC on the socket fails, and the next kubelet is heard") {
  Rig rig;
  rig.server.start_not_grpc();
  const auto r = rig.ask(std::chrono::seconds(2));
  REQUIRE_FALSE(r.has_value());
  INFO(r.error().message);
  CHECK(r.error().reason == PodResourcesError::unavailable);
  // Whether the server's answer arrives before or after the request is written, the message says
  // what is wrong rather than how the socket failed.
  CHECK(r.error().message.find("not an HTTP/2 server: it answered \"HTTP/1.1 400 Bad Request\"") != std::string::npos);
  CHECK(rig.server.calls() >= 1);
  rig.server.start();
  CHECK(rig.ask().has_value());
}
