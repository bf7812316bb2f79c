// The pod-resources client against grpc-go, the gRPC the kubelet serves the API with
// (tests/podresources/grpc_go_kubelet): the same answers as from gRPC's C++ server in
// test_client.cpp, and the kubelet's refusals typed the same way.
//
// The Go server is built when CMake finds `go` and Debian's grpc-go sources
// (golang-google-grpc-dev); without them this test skips loudly, and fails with
// NODEPACK_REQUIRE_GRPC_GO=1 (CI).

#include "podresources/client.hpp"

#include "tests/podresources/expected_answers.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/temp_dir.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

using namespace nodepack;
using namespace nodepack::testing;
using numa::PodResourcesError;

namespace {

const std::string kServer = NODEPACK_GRPC_GO_KUBELET;

// True when the server was built; else a loud skip, or a failure where it is required.
bool server_built() {
  if (!kServer.empty()) {
    return true;
  }
  const char* required = std::getenv("NODEPACK_REQUIRE_GRPC_GO");
  if (required != nullptr && std::string(required) == "1") {
    FAIL(
        "NODEPACK_REQUIRE_GRPC_GO=1 but the grpc-go fake kubelet was not built (needs golang-go and "
        "golang-google-grpc-dev at configure time)");
  }
  WARN(
      "SKIPPED: the grpc-go fake kubelet was not built (golang-go, golang-google-grpc-dev); the client "
      "was checked against gRPC's C++ server only");
  return false;
}

// The Go server as a child process, stopped and reaped at scope exit.
class GoKubelet {
 public:
  explicit GoKubelet(std::vector<std::string> args) : socket_(tmp_.path() / "kubelet.sock") {
    args.insert(args.begin(), {kServer, "-socket", socket_.string()});
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      std::vector<char*> argv;
      for (auto& a : args) {
        argv.push_back(a.data());
      }
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    // Listening once the socket exists. A failed REQUIRE in a constructor skips the destructor:
    // the child is stopped here first.
    if (!eventually([&] { return std::filesystem::exists(socket_); }, std::chrono::seconds(10))) {
      stop();
      FAIL("the grpc-go fake kubelet did not listen on " << socket_ << " within 10 s");
    }
  }
  ~GoKubelet() { stop(); }
  GoKubelet(const GoKubelet&) = delete;
  GoKubelet& operator=(const GoKubelet&) = delete;

  numa::PodResourcesResult<numa::PodResourcesAnswer> ask() {
    podresources::Client client({socket_, std::chrono::seconds(5), 16u << 20});
    return client.ask(std::chrono::system_clock::time_point{} + std::chrono::hours(1));
  }

 private:
  void stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
    }
  }

  TempDir tmp_;
  std::filesystem::path socket_;
  pid_t pid_ = -1;
};

std::string fixture(const std::string& name) { return (fixtures() / "podresources" / name).string(); }

}  // namespace

TEST_CASE("grpc-go: a GB200-like node's answer, as from gRPC's C++ server") {
  if (!server_built()) {
    return;
  }
  GoKubelet kubelet({"-list", fixture("gb200-like/list.json"), "-allocatable", fixture("gb200-like/allocatable.json")});
  auto answer = kubelet.ask();
  if (!answer) {
    FAIL(answer.error().message);
  }
  check_gb200_like_answer(*answer);
  // Asked again on a new connection: the same.
  auto again = kubelet.ask();
  REQUIRE(again.has_value());
  check_gb200_like_answer(*again);
}

TEST_CASE("grpc-go: a kubelet that does not serve GetAllocatableResources still answers List") {
  if (!server_built()) {
    return;
  }
  GoKubelet kubelet({"-list", fixture("16em64t-4s2c2t/list.json")});
  auto answer = kubelet.ask();
  if (!answer) {
    FAIL(answer.error().message);
  }
  check_list_only_answer(*answer);
}

TEST_CASE("grpc-go: an answer larger than HTTP/2's initial flow-control window arrives whole") {
  if (!server_built()) {
    return;
  }
  // 2,000 containers with exclusive CPUs and a device each: about 300 KB of protobuf, where
  // grpc-go sends 64 KiB and then waits for the client's WINDOW_UPDATEs.
  constexpr int pods = 2000;
  TempDir tmp;
  std::string json = R"({"podResources":[)";
  for (int i = 0; i < pods; ++i) {
    const std::string n = std::to_string(i);
    json += (i ? "," : "") + std::string(R"({"name":"pod-)") + n +
            R"(","namespace":"load","containers":[{"name":"c",)" + R"("cpuIds":[)" + std::to_string(2 * (i % 64)) +
            "," + std::to_string(2 * (i % 64) + 1) + "]," +
            R"("devices":[{"resourceName":"example.com/device","deviceIds":["device-)" + n +
            R"(-0123456789abcdef0123456789abcdef"],"topology":{"nodes":[{"ID":)" + std::to_string(i % 2) + "}]}}]}]}";
  }
  json += "]}";
  const auto list = tmp.path() / "list.json";
  write_file(list, json);
  GoKubelet kubelet({"-list", list.string()});
  auto answer = kubelet.ask();
  if (!answer) {
    FAIL(answer.error().message);
  }
  REQUIRE(answer->containers.size() == static_cast<std::size_t>(pods));
  const auto& last = answer->containers.back();
  CHECK(last.pod_name == "pod-1999");
  CHECK(last.cpus.to_string() == "30-31");  // 1999 % 64 = 15
  REQUIRE(last.devices.size() == 1);
  CHECK(last.devices[0] ==
        numa::DeviceGroup{"example.com/device", {"device-1999-0123456789abcdef0123456789abcdef"}, {1}});
}

TEST_CASE("grpc-go: the kubelet's refusals are typed") {
  if (!server_built()) {
    return;
  }
  {
    GoKubelet kubelet({"-list", fixture("16em64t-4s2c2t/list.json"), "-fail", "8"});  // ResourceExhausted
    CHECK(reason(kubelet.ask()) == PodResourcesError::rate_limited);
  }
  {
    GoKubelet kubelet({"-list", fixture("16em64t-4s2c2t/list.json"), "-fail", "12"});  // Unimplemented
    CHECK(reason(kubelet.ask()) == PodResourcesError::unimplemented);
  }
  {
    GoKubelet kubelet({"-list", fixture("16em64t-4s2c2t/list.json"), "-fail", "7"});  // PermissionDenied
    CHECK(reason(kubelet.ask()) == PodResourcesError::other);
  }
}
