#pragma once

// Asks the kubelet's pod-resources API over its unix socket: List and GetAllocatableResources,
// each with a deadline, synchronously (the poller's thread calls it, never the agent's io thread),
// over gRPC spoken by podresources/grpc_unary.hpp and decoded by podresources/messages.hpp.
// Every failure is a typed PodResourcesFailure; nothing throws.

#include "numa/pod_resources.hpp"

#include <chrono>
#include <cstddef>
#include <filesystem>

namespace nodepack::podresources {

struct ClientOptions {
  std::filesystem::path socket;
  std::chrono::milliseconds deadline{5000};   // per call
  std::size_t max_message_bytes = 16u << 20;  // as the checkpoint files' bound
};

class Client {
 public:
  explicit Client(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // One List and one GetAllocatableResources. `now` stamps the answer. A kubelet that does not
  // serve GetAllocatableResources still answers: without allocatable resources.
  numa::PodResourcesResult<numa::PodResourcesAnswer> ask(std::chrono::system_clock::time_point now);

 private:
  ClientOptions options_;
};

}  // namespace nodepack::podresources
