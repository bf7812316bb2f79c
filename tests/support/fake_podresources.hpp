#pragma once

// A stand-in for the kubelet's pod-resources server on a real unix socket: the real gRPC
// service with answers the test sets, a server that answers every call with bytes that are no
// message, and a listener that is not gRPC at all. stop() removes the socket, as a kubelet restart
// does.

#include "podresources/api.pb.h"

#include <grpcpp/support/status.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

namespace grpc {
class CallbackGenericService;
class Server;
class Service;
}  // namespace grpc

namespace nodepack::testing {

class FakePodResources {
 public:
  explicit FakePodResources(std::filesystem::path socket);
  ~FakePodResources();
  FakePodResources(const FakePodResources&) = delete;
  FakePodResources& operator=(const FakePodResources&) = delete;

  // Answers, changeable while serving. nullopt allocatable: GetAllocatableResources is
  // UNIMPLEMENTED, as on a kubelet before 1.21.
  void set_list(v1::ListPodResourcesResponse list);
  void set_allocatable(std::optional<v1::AllocatableResourcesResponse> allocatable);
  // Every call fails with `code` until reset with grpc::StatusCode::OK.
  void fail_with(grpc::StatusCode code, std::string message = "injected");
  void set_delay(std::chrono::milliseconds delay);

  void start();                           // the pod-resources service
  void start_garbage(std::string bytes);  // every call answered with `bytes` as its message
  void start_not_grpc();                  // accepts, answers an HTTP/1.1 error, closes
  void stop();                            // shuts down and removes the socket

  std::uint64_t calls() const { return calls_.load(); }
  const std::filesystem::path& socket() const { return socket_; }

  // The protobuf JSON mapping of each answer (tests/fixtures/podresources/*.json).
  static v1::ListPodResourcesResponse list_from_json(std::string_view json);
  static v1::AllocatableResourcesResponse allocatable_from_json(std::string_view json);

  struct State;  // shared with the service implementations

 private:
  std::filesystem::path socket_;
  std::shared_ptr<State> state_;
  std::atomic<std::uint64_t> calls_{0};
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<grpc::Service> service_;
  std::unique_ptr<grpc::CallbackGenericService> generic_;
  int raw_fd_ = -1;
  std::thread raw_thread_;
};

}  // namespace nodepack::testing
