#include "podresources/grpc_unary.hpp"

#include <nghttp2/nghttp2.h>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>
#include <utility>
#include <vector>

namespace nodepack::podresources {

using numa::PodResourcesError;
using numa::PodResourcesFailure;
using numa::PodResourcesResult;

namespace {

// gRPC frames each message with a compressed flag and a big-endian 32-bit length.
constexpr std::size_t message_prefix = 5;
// Windows larger than HTTP/2's 64 KiB default, so an answer of a few hundred KiB (a node full of
// Guaranteed pods) does not wait on window updates.
constexpr std::int32_t receive_window = 1 << 20;

PodResourcesFailure failure(PodResourcesError reason, std::string message) { return {reason, std::move(message)}; }

std::string errno_text() { return std::strerror(errno); }

// grpc-message is percent-encoded (PROTOCOL-HTTP2.md, "Responses").
std::string percent_decode(std::string_view in) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    unsigned value = 0;
    if (in[i] == '%' && i + 2 < in.size() &&
        std::from_chars(in.data() + i + 1, in.data() + i + 3, value, 16).ptr == in.data() + i + 3) {
      out.push_back(static_cast<char>(value));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

// The gRPC status a reply without grpc-status stands for, from its HTTP status
// (doc/http-grpc-status-mapping.md).
int status_from_http(int http) {
  switch (http) {
    case 400:
      return static_cast<int>(GrpcStatus::internal);
    case 401:
      return 16;  // UNAUTHENTICATED
    case 403:
      return static_cast<int>(GrpcStatus::permission_denied);
    case 404:
      return static_cast<int>(GrpcStatus::unimplemented);
    case 429:
    case 502:
    case 503:
    case 504:
      return static_cast<int>(GrpcStatus::unavailable);
    default:
      return 2;  // UNKNOWN
  }
}

std::optional<int> to_int(std::string_view text) {
  int value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

}  // namespace

// What nghttp2's callbacks fill in for the call in flight.
struct GrpcUnixConnection::Session {
  nghttp2_session* h2 = nullptr;
  std::int32_t stream = -1;
  std::vector<std::pair<std::string, std::string>> headers;  // response headers, then trailers
  std::string body;
  std::size_t body_limit = 0;
  bool too_large = false;
  bool closed = false;
  std::uint32_t reset_code = NGHTTP2_NO_ERROR;
  std::string request;  // framed request message
  std::size_t request_sent = 0;

  ~Session() {
    if (h2 != nullptr) {
      nghttp2_session_del(h2);
    }
  }

  std::string_view header(std::string_view name) const {
    for (auto it = headers.rbegin(); it != headers.rend(); ++it) {  // trailers win
      if (it->first == name) {
        return it->second;
      }
    }
    return {};
  }

  static Session& of(void* user_data) { return *static_cast<Session*>(user_data); }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name, std::size_t namelen,
                       const std::uint8_t* value, std::size_t valuelen, std::uint8_t, void* user_data) {
    auto& s = of(user_data);
    if (frame->hd.type == NGHTTP2_HEADERS && frame->hd.stream_id == s.stream) {
      s.headers.emplace_back(std::string(reinterpret_cast<const char*>(name), namelen),
                             std::string(reinterpret_cast<const char*>(value), valuelen));
    }
    return 0;
  }

  static int on_data(nghttp2_session*, std::uint8_t, std::int32_t stream, const std::uint8_t* data, std::size_t len,
                     void* user_data) {
    auto& s = of(user_data);
    if (stream != s.stream) {
      return 0;
    }
    if (s.body.size() + len > s.body_limit) {
      s.too_large = true;  // stop reading: the answer is refused whatever follows
      return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    s.body.append(reinterpret_cast<const char*>(data), len);
    return 0;
  }

  static int on_close(nghttp2_session*, std::int32_t stream, std::uint32_t error_code, void* user_data) {
    auto& s = of(user_data);
    if (stream == s.stream) {
      s.closed = true;
      s.reset_code = error_code;
    }
    return 0;
  }

  static ssize_t read_request(nghttp2_session*, std::int32_t, std::uint8_t* buf, std::size_t length,
                              std::uint32_t* data_flags, nghttp2_data_source* source, void*) {
    auto& s = *static_cast<Session*>(source->ptr);
    const std::size_t n = std::min(length, s.request.size() - s.request_sent);
    std::memcpy(buf, s.request.data() + s.request_sent, n);
    s.request_sent += n;
    if (s.request_sent == s.request.size()) {
      *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    }
    return static_cast<ssize_t>(n);
  }
};

PodResourcesResult<std::unique_ptr<GrpcUnixConnection>> GrpcUnixConnection::connect(const std::filesystem::path& socket,
                                                                                    Clock::time_point deadline) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string path = socket.string();
  if (path.size() >= sizeof(addr.sun_path)) {
    return failure(PodResourcesError::other, path + ": longer than a unix socket path can be");
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return failure(PodResourcesError::other, "socket: " + errno_text());
  }
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    // A unix socket connects at once or not at all (EAGAIN: the listener's backlog is full).
    const std::string why = errno_text();
    ::close(fd);
    return failure(PodResourcesError::unavailable, path + ": connect: " + why);
  }

  auto session = std::make_unique<Session>();
  nghttp2_session_callbacks* callbacks = nullptr;
  if (nghttp2_session_callbacks_new(&callbacks) != 0) {
    ::close(fd);
    return failure(PodResourcesError::other, "nghttp2: out of memory");
  }
  nghttp2_session_callbacks_set_on_header_callback(callbacks, &Session::on_header);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, &Session::on_data);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &Session::on_close);
  const int made = nghttp2_session_client_new(&session->h2, callbacks, session.get());
  nghttp2_session_callbacks_del(callbacks);
  if (made != 0) {
    ::close(fd);
    return failure(PodResourcesError::other, std::string("nghttp2: ") + nghttp2_strerror(made));
  }
  // The client's preface: no server push, larger windows.
  const nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
                                             {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, receive_window}};
  nghttp2_submit_settings(session->h2, NGHTTP2_FLAG_NONE, settings, std::size(settings));
  nghttp2_session_set_local_window_size(session->h2, NGHTTP2_FLAG_NONE, 0, receive_window);

  std::unique_ptr<GrpcUnixConnection> connection(new GrpcUnixConnection(fd, std::move(session)));
  if (auto sent = connection->flush(deadline); !sent) {
    return sent.error();
  }
  return connection;
}

GrpcUnixConnection::GrpcUnixConnection(int fd, std::unique_ptr<Session> session)
    : fd_(fd), session_(std::move(session)) {}

GrpcUnixConnection::~GrpcUnixConnection() {
  session_.reset();
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

namespace {

// Waits until `fd` is ready for `events`, or the deadline passes.
PodResourcesResult<void> wait_for(int fd, short events, GrpcUnixConnection::Clock::time_point deadline) {
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - GrpcUnixConnection::Clock::now()).count();
    if (left <= 0) {
      return failure(PodResourcesError::timeout, "no answer within the deadline");
    }
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 60'000)));
    if (n > 0) {
      return {};
    }
    if (n < 0 && errno != EINTR) {
      return failure(PodResourcesError::other, "poll: " + errno_text());
    }
  }
}

}  // namespace

// A server that is not HTTP/2 often answers the connection preface with something of its own (an
// HTTP/1 error), which nghttp2 takes for a frame too large and ends the session on: the first
// line of that answer says more than the broken pipe or GOAWAY that follows. An HTTP/2 server's
// first bytes are a SETTINGS frame, whose length starts with a zero byte: never text.
PodResourcesFailure GrpcUnixConnection::gone(std::string what) {
  if (first_bytes_.empty()) {  // the request met the closed socket before anything was read
    char buf[80];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    first_bytes_.assign(buf, static_cast<std::size_t>(std::max<ssize_t>(n, 0)));
  }
  std::string line;
  for (const char c : first_bytes_) {
    if (c == '\r' || c == '\n' || std::isprint(static_cast<unsigned char>(c)) == 0) {
      break;
    }
    line += c;
  }
  if (line.size() < 4) {
    return failure(PodResourcesError::unavailable, std::move(what));
  }
  return failure(PodResourcesError::unavailable, "not an HTTP/2 server: it answered \"" + line + "\" (" + what + ")");
}

PodResourcesResult<void> GrpcUnixConnection::flush(Clock::time_point deadline) {
  for (;;) {
    const std::uint8_t* data = nullptr;
    const ssize_t n = nghttp2_session_mem_send(session_->h2, &data);
    if (n < 0) {
      return failure(PodResourcesError::other, std::string("nghttp2: ") + nghttp2_strerror(static_cast<int>(n)));
    }
    if (n == 0) {
      return {};
    }
    std::size_t sent = 0;
    while (sent < static_cast<std::size_t>(n)) {
      const ssize_t w = ::send(fd_, data + sent, static_cast<std::size_t>(n) - sent, MSG_NOSIGNAL);
      if (w >= 0) {
        sent += static_cast<std::size_t>(w);
      } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (auto ready = wait_for(fd_, POLLOUT, deadline); !ready) {
          return ready;
        }
      } else if (errno != EINTR) {
        return gone("the server closed the connection during the call (send: " + errno_text() + ")");
      }
    }
  }
}

PodResourcesResult<void> GrpcUnixConnection::receive(Clock::time_point deadline) {
  if (auto ready = wait_for(fd_, POLLIN, deadline); !ready) {
    return ready;
  }
  std::uint8_t buf[16384];
  const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
  if (n == 0) {
    return gone("the server closed the connection before answering");
  }
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
      return {};
    }
    return failure(PodResourcesError::unavailable, "recv: " + errno_text());
  }
  if (first_bytes_.empty()) {
    first_bytes_.assign(reinterpret_cast<const char*>(buf), std::min<std::size_t>(static_cast<std::size_t>(n), 80));
  }
  const ssize_t used = nghttp2_session_mem_recv(session_->h2, buf, static_cast<std::size_t>(n));
  if (used < 0) {
    if (session_->too_large) {
      return failure(
          PodResourcesError::bad_answer,
          "the answer is larger than the bound of " + std::to_string(session_->body_limit - message_prefix) + " bytes");
    }
    // Whatever listens there does not speak HTTP/2 (or broke it): gRPC calls that unavailable.
    const std::string why = nghttp2_strerror(static_cast<int>(used));
    auto said = gone("nghttp2: " + why);
    return said.message.starts_with("not an HTTP/2 server")
               ? said
               : failure(PodResourcesError::unavailable, "not an HTTP/2 server: " + why);
  }
  return {};
}

PodResourcesResult<GrpcReply> GrpcUnixConnection::call(std::string_view method, std::string_view request,
                                                       std::chrono::milliseconds timeout,
                                                       std::size_t max_message_bytes) {
  const auto deadline = Clock::now() + timeout;
  auto& s = *session_;
  s.headers.clear();
  s.body.clear();
  s.too_large = false;
  s.closed = false;
  s.reset_code = NGHTTP2_NO_ERROR;
  s.body_limit = max_message_bytes + message_prefix;
  s.request.assign(1, '\0');  // not compressed
  const auto length = static_cast<std::uint32_t>(request.size());
  for (int shift = 24; shift >= 0; shift -= 8) {
    s.request.push_back(static_cast<char>((length >> shift) & 0xff));
  }
  s.request.append(request);
  s.request_sent = 0;

  // The server gives up too, rather than answer a caller that has gone.
  const std::string grpc_timeout = std::to_string(std::max<long long>(timeout.count(), 1)) + "m";
  const auto nv = [](std::string_view name, std::string_view value) {
    return nghttp2_nv{reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
                      reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
                      NGHTTP2_NV_FLAG_NONE};
  };
  const nghttp2_nv headers[] = {nv(":method", "POST"),
                                nv(":scheme", "http"),
                                nv(":path", method),
                                nv(":authority", "localhost"),
                                nv("content-type", "application/grpc"),
                                nv("te", "trailers"),
                                nv("grpc-accept-encoding", "identity"),
                                nv("grpc-timeout", grpc_timeout),
                                nv("user-agent", "nodepack")};
  nghttp2_data_provider body{};
  body.source.ptr = &s;
  body.read_callback = &Session::read_request;
  s.stream = nghttp2_submit_request(s.h2, nullptr, headers, std::size(headers), &body, nullptr);
  if (s.stream < 0) {
    return failure(PodResourcesError::other, std::string("nghttp2: ") + nghttp2_strerror(s.stream));
  }

  while (!s.closed) {
    if (auto sent = flush(deadline); !sent) {
      return sent.error();
    }
    if (s.closed) {
      break;
    }
    if (nghttp2_session_want_read(s.h2) == 0 && nghttp2_session_want_write(s.h2) == 0) {
      return gone("the server ended the HTTP/2 session before answering");
    }
    if (auto got = receive(deadline); !got) {
      return got.error();
    }
  }

  if (s.reset_code != NGHTTP2_NO_ERROR) {
    return failure(PodResourcesError::unavailable,
                   std::string("the server reset the call: ") + nghttp2_http2_strerror(s.reset_code));
  }
  GrpcReply reply;
  const auto http = to_int(s.header(":status"));
  if (!http) {
    return failure(PodResourcesError::bad_answer, "the answer has no HTTP status");
  }
  const auto grpc_status = s.header("grpc-status");
  if (*http != 200 && grpc_status.empty()) {
    reply.status = status_from_http(*http);
    reply.status_message = "HTTP status " + std::to_string(*http);
    return reply;
  }
  if (s.header("content-type").substr(0, 16) != "application/grpc") {
    return failure(PodResourcesError::bad_answer,
                   "not a gRPC answer (content-type \"" + std::string(s.header("content-type")) + "\")");
  }
  const auto status = to_int(grpc_status);
  if (!status) {
    return failure(PodResourcesError::bad_answer, "the answer ended without a grpc-status");
  }
  reply.status = *status;
  reply.status_message = percent_decode(s.header("grpc-message"));
  if (reply.status != static_cast<int>(GrpcStatus::ok)) {
    return reply;
  }
  // Exactly one message, uncompressed (we accept identity only), of the length it declares.
  if (s.body.size() < message_prefix) {
    return failure(PodResourcesError::bad_answer, "no message returned");
  }
  if (s.body[0] != '\0') {
    return failure(PodResourcesError::bad_answer, "the message is compressed, which was not asked for");
  }
  std::uint32_t declared = 0;
  for (std::size_t i = 1; i < message_prefix; ++i) {
    declared = declared << 8 | static_cast<unsigned char>(s.body[i]);
  }
  if (declared != s.body.size() - message_prefix) {
    return failure(PodResourcesError::bad_answer, "the message declares " + std::to_string(declared) + " bytes and " +
                                                      std::to_string(s.body.size() - message_prefix) + " came");
  }
  reply.message = s.body.substr(message_prefix);
  return reply;
}

}  // namespace nodepack::podresources
