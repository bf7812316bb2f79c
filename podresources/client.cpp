#include "podresources/client.hpp"

#include "podresources/convert.hpp"
#include "podresources/grpc_unary.hpp"
#include "podresources/messages.hpp"

#include <sys/stat.h>
#include <cerrno>
#include <cstring>

namespace nodepack::podresources {

using numa::PodResourcesError;
using numa::PodResourcesFailure;

namespace {

constexpr std::string_view list_method = "/v1.PodResourcesLister/List";
constexpr std::string_view allocatable_method = "/v1.PodResourcesLister/GetAllocatableResources";

PodResourcesFailure from_status(const GrpcReply& r, const std::string& call) {
  const std::string what = call + ": " + r.status_message;
  switch (static_cast<GrpcStatus>(r.status)) {
    case GrpcStatus::unavailable:
      return {PodResourcesError::unavailable, what};
    case GrpcStatus::deadline_exceeded:
      return {PodResourcesError::timeout, what};
    case GrpcStatus::resource_exhausted:
      return {PodResourcesError::rate_limited, what};
    case GrpcStatus::unimplemented:
      return {PodResourcesError::unimplemented, what};
    case GrpcStatus::internal:
    case GrpcStatus::data_loss:
      // An answer the server could not make or send whole.
      return {PodResourcesError::bad_answer, what};
    default:
      return {PodResourcesError::other, what + " (status " + std::to_string(r.status) + ")"};
  }
}

PodResourcesFailure named(PodResourcesFailure f, const std::string& call) {
  f.message = call + ": " + f.message;
  return f;
}

}  // namespace

Client::Client(ClientOptions options) : options_(std::move(options)) {}
Client::~Client() = default;

numa::PodResourcesResult<numa::PodResourcesAnswer> Client::ask(std::chrono::system_clock::time_point now) {
  // No socket: say so without connecting.
  struct stat st {};
  if (::stat(options_.socket.c_str(), &st) != 0) {
    return PodResourcesFailure{PodResourcesError::no_socket,
                               options_.socket.string() + ": " + std::string(std::strerror(errno))};
  }
  if (!S_ISSOCK(st.st_mode)) {
    return PodResourcesFailure{PodResourcesError::other, options_.socket.string() + " is not a socket"};
  }
  // A connection per poll: polls are seconds apart, a unix connect costs microseconds, and a
  // kubelet restart (a new socket) needs no reconnect logic.
  auto connection = GrpcUnixConnection::connect(options_.socket, GrpcUnixConnection::Clock::now() + options_.deadline);
  if (!connection) {
    return connection.error();
  }
  auto& grpc = **connection;

  numa::PodResourcesAnswer answer;
  answer.taken_at = now;
  {
    auto reply = grpc.call(list_method, {}, options_.deadline, options_.max_message_bytes);
    if (!reply) {
      return named(reply.error(), "List");
    }
    if (reply->status != static_cast<int>(GrpcStatus::ok)) {
      return from_status(*reply, "List");
    }
    auto list = decode_list_response(reply->message);
    if (!list) {
      return PodResourcesFailure{PodResourcesError::bad_answer, "List: " + list.error().message};
    }
    auto containers = containers_from(*list);
    if (!containers) {
      return containers.error();
    }
    answer.containers = std::move(*containers);
  }
  {
    auto reply = grpc.call(allocatable_method, {}, options_.deadline, options_.max_message_bytes);
    if (!reply) {
      return named(reply.error(), "GetAllocatableResources");
    }
    if (reply->status == static_cast<int>(GrpcStatus::unimplemented)) {
      return answer;  // a kubelet before 1.21, or with the gate off: List alone
    }
    if (reply->status != static_cast<int>(GrpcStatus::ok)) {
      return from_status(*reply, "GetAllocatableResources");
    }
    auto allocatable = decode_allocatable_response(reply->message);
    if (!allocatable) {
      return PodResourcesFailure{PodResourcesError::bad_answer,
                                 "GetAllocatableResources: " + allocatable.error().message};
    }
    auto converted = allocatable_from(*allocatable);
    if (!converted) {
      return converted.error();
    }
    answer.allocatable = std::move(*converted);
  }
  return answer;
}

}  // namespace nodepack::podresources
