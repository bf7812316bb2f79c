#pragma once

// Unary gRPC calls over HTTP/2 without TLS ("prior knowledge" h2c) on a unix socket, as the
// kubelet serves its local APIs: libnghttp2 does the framing, HPACK and flow control; this file
// does the gRPC part (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md): the
// request headers, the length-prefixed message, the status from the trailers. Blocking, with one
// deadline per call, for a thread of its own (the pod-resources poller). Failures of the
// transport are typed as pod-resources failures; a gRPC status is returned as an answer.

#include "numa/pod_resources.hpp"

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace nodepack::podresources {

// gRPC's status codes that the client tells apart (google.rpc.Code).
enum class GrpcStatus : int {
  ok = 0,
  deadline_exceeded = 4,
  permission_denied = 7,
  resource_exhausted = 8,
  unimplemented = 12,
  internal = 13,
  unavailable = 14,
  data_loss = 15,
};

struct GrpcReply {
  int status = 0;              // a GrpcStatus, or any other code the server sent
  std::string status_message;  // grpc-message, percent-decoded
  std::string message;         // the answer's protobuf bytes (status ok only)
};

class GrpcUnixConnection {
 public:
  using Clock = std::chrono::steady_clock;

  // Connects and sends the HTTP/2 preface. No socket listening there: unavailable.
  static numa::PodResourcesResult<std::unique_ptr<GrpcUnixConnection>> connect(const std::filesystem::path& socket,
                                                                               Clock::time_point deadline);
  ~GrpcUnixConnection();
  GrpcUnixConnection(const GrpcUnixConnection&) = delete;
  GrpcUnixConnection& operator=(const GrpcUnixConnection&) = delete;

  // Calls `method` ("/package.Service/Method") with `request` (protobuf bytes). An answer message
  // over `max_message_bytes` is bad_answer, read no further; past `deadline`, timeout. Calls on one
  // connection go one after another.
  numa::PodResourcesResult<GrpcReply> call(std::string_view method, std::string_view request,
                                           std::chrono::milliseconds timeout, std::size_t max_message_bytes);

  struct Session;  // the nghttp2 session and the call in flight

 private:
  GrpcUnixConnection(int fd, std::unique_ptr<Session> session);
  numa::PodResourcesResult<void> flush(Clock::time_point deadline);
  numa::PodResourcesResult<void> receive(Clock::time_point deadline);
  // Why the server went away: what it answered, when that was text (not HTTP/2), else `what`.
  numa::PodResourcesFailure gone(std::string what);

  int fd_ = -1;
  std::string first_bytes_;  // the first bytes the server sent, for gone()
  std::unique_ptr<Session> session_;
};

}  // namespace nodepack::podresources
