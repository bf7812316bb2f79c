#include "podresources/client.hpp"

#include "podresources/api.grpc.pb.h"
#include "podresources/convert.hpp"

#include <grpcpp/grpcpp.h>

#include <sys/stat.h>
#include <cerrno>
#include <cstring>

namespace nodepack::podresources {

using numa::PodResourcesError;
using numa::PodResourcesFailure;

struct Client::Channel {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::PodResourcesLister::Stub> stub;
};

namespace {

// gRPC C++ reports an answer that does not decode as UNIMPLEMENTED with this message (the call
// ended without a message it could read); a kubelet that does not serve the method says
// "unknown method ...".
bool undecodable(const grpc::Status& s) {
  return s.error_code() == grpc::StatusCode::UNIMPLEMENTED &&
         s.error_message().find("No message returned") != std::string::npos;
}

PodResourcesFailure from_status(const grpc::Status& s, const std::string& call) {
  if (undecodable(s)) {
    return {PodResourcesError::bad_answer, call + ": the answer does not decode (" + s.error_message() + ")"};
  }
  const std::string what = call + ": " + s.error_message();
  switch (s.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      return {PodResourcesError::unavailable, what};
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return {PodResourcesError::timeout, what};
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      // Also what gRPC says of an answer over the receive limit: that is the answer's fault.
      if (s.error_message().find("larger than max") != std::string::npos) {
        return {PodResourcesError::bad_answer, what};
      }
      return {PodResourcesError::rate_limited, what};
    case grpc::StatusCode::UNIMPLEMENTED:
      return {PodResourcesError::unimplemented, what};
    case grpc::StatusCode::INTERNAL:
    case grpc::StatusCode::DATA_LOSS:
      // An answer that does not decode (the kubelet's, or whatever listens there).
      return {PodResourcesError::bad_answer, what};
    default:
      return {PodResourcesError::other, what + " (status " + std::to_string(static_cast<int>(s.error_code())) + ")"};
  }
}

void set_deadline(grpc::ClientContext& ctx, std::chrono::milliseconds deadline) {
  ctx.set_deadline(std::chrono::system_clock::now() + deadline);
}

}  // namespace

Client::Client(ClientOptions options) : options_(std::move(options)) {}
Client::~Client() = default;

numa::PodResourcesResult<numa::PodResourcesAnswer> Client::ask(std::chrono::system_clock::time_point now) {
  // No socket: say so without involving gRPC, whose connect would only time out.
  struct stat st {};
  if (::stat(options_.socket.c_str(), &st) != 0) {
    channel_.reset();
    return PodResourcesFailure{PodResourcesError::no_socket,
                               options_.socket.string() + ": " + std::string(std::strerror(errno))};
  }
  if (!S_ISSOCK(st.st_mode)) {
    channel_.reset();
    return PodResourcesFailure{PodResourcesError::other, options_.socket.string() + " is not a socket"};
  }
  if (!channel_) {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(static_cast<int>(options_.max_message_bytes));
    // A kubelet restart replaces the socket: reconnect within a poll or two, not gRPC's minutes.
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 200);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
    auto channel = std::make_unique<Channel>();
    channel->channel = grpc::CreateCustomChannel("unix:" + std::filesystem::absolute(options_.socket).string(),
                                                 grpc::InsecureChannelCredentials(), args);
    channel->stub = v1::PodResourcesLister::NewStub(channel->channel);
    channel_ = std::move(channel);
  }

  numa::PodResourcesAnswer answer;
  answer.taken_at = now;
  {
    grpc::ClientContext ctx;
    set_deadline(ctx, options_.deadline);
    v1::ListPodResourcesResponse list;
    const grpc::Status status = channel_->stub->List(&ctx, v1::ListPodResourcesRequest(), &list);
    if (!status.ok()) {
      channel_.reset();  // a fresh connection next time: the kubelet may have restarted
      return from_status(status, "List");
    }
    auto containers = containers_from(list);
    if (!containers) {
      return containers.error();
    }
    answer.containers = std::move(*containers);
  }
  {
    grpc::ClientContext ctx;
    set_deadline(ctx, options_.deadline);
    v1::AllocatableResourcesResponse allocatable;
    const grpc::Status status =
        channel_->stub->GetAllocatableResources(&ctx, v1::AllocatableResourcesRequest(), &allocatable);
    if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED && !undecodable(status)) {
      return answer;  // a kubelet before 1.21, or with the gate off: List alone
    }
    if (!status.ok()) {
      channel_.reset();
      return from_status(status, "GetAllocatableResources");
    }
    auto converted = allocatable_from(allocatable);
    if (!converted) {
      return converted.error();
    }
    answer.allocatable = std::move(*converted);
  }
  return answer;
}

}  // namespace nodepack::podresources
