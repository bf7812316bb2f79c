#pragma once

// A minimal Kubernetes API client over Beast: GET requests and streamed watch responses, HTTP or
// HTTPS (OpenSSL), with the credential provider's Authorization header. One connection per
// request: an agent makes a handful of list calls and one long-lived watch per resource, so
// connection reuse would buy nothing measurable and cost a pool's worth of state.

#include "common/clock.hpp"
#include "common/result.hpp"
#include "kube/api_error.hpp"
#include "kube/api_limits.hpp"
#include "kube/credentials.hpp"
#include "kube/kubeconfig.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/http/verb.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace nodepack::kube {

// An http(s)://host[:port][/path] URL split for a client; the port defaults by scheme and the path
// is "" or starts with '/' (no trailing slash). `what` names the URL in error messages.
struct ServerUrl {
  bool tls = false;
  std::string host;  // without the brackets of an IPv6 literal
  std::string port;
  std::string path;
};
Result<ServerUrl> parse_server_url(std::string_view url, std::string_view what);

// A TLS client context as the kubeconfig asks for it: system CAs unless `config.ca_pem`, host name
// verification against `verify_name`, the client certificate when given.
Result<std::unique_ptr<boost::asio::ssl::context>> make_tls_client_context(const ClusterConfig& config,
                                                                           const std::string& verify_name);

struct ApiResponse {
  unsigned status = 0;
  std::string body;  // for a stream: only set when the status is not 200
};

struct ApiCounters {
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> watch_requests{0};
  std::atomic<std::uint64_t> errors{0};  // transport errors, before any status
  std::atomic<std::uint64_t> unauthorized{0};
  // The most response bytes held at once: a whole body for get(), an unfinished line for stream();
  // for get_pieces(), the body's bytes counted against its bound (passed on, not held). Shows how
  // close the bounds (api_limits.hpp) are to what the cluster sends.
  std::atomic<std::uint64_t> largest_buffered{0};
};

struct ApiClientOptions {
  std::chrono::milliseconds exec_timeout = default_exec_timeout;  // one exec credential plugin run
};

class ApiClient {
 public:
  // Fails for an unusable configuration (bad URL, unreadable PEM data).
  static Result<std::unique_ptr<ApiClient>> create(const ClusterConfig& config, const Clock& clock,
                                                   ApiClientOptions options = {});
  ~ApiClient();

  // GET `target` ("/api/v1/pods?..."); reads the whole body. A 401 invalidates the credentials
  // and is retried once, so rotated tokens and expired exec credentials recover by themselves.
  // A body longer than `max_body_bytes` fails with ApiErrorKind::too_large as soon as the excess
  // arrives (or at once when Content-Length says so), so at most that much is ever held.
  boost::asio::awaitable<ApiResult<ApiResponse>> get(std::string target, std::chrono::milliseconds timeout,
                                                     std::uint64_t max_body_bytes = default_max_list_bytes);

  // Receives a body piece by piece, in order; an error ends the request with it (bad_answer).
  using BodyPieces = std::function<Result<void>(std::string_view piece)>;

  // GET `target` like get(), but hand a 200 answer's body to `on_piece` as it arrives instead of
  // gathering it, so it is never held whole (a list parsed as it is read holds one item, not the
  // page's text). The bound counts the bytes as they pass: `max_body_bytes` fails the request with
  // ApiErrorKind::too_large as get() does, the pieces before the excess having been handed on. The
  // answer's body is set only when the status is not 200 (a Status to report); a 401 is retried
  // once, before any piece.
  boost::asio::awaitable<ApiResult<ApiResponse>> get_pieces(std::string target, BodyPieces on_piece,
                                                            std::chrono::milliseconds timeout,
                                                            std::uint64_t max_body_bytes = default_max_list_bytes);

  // POST, PUT or DELETE a JSON body (TokenReview, SubjectAccessReview, a Lease, an object the agent
  // keeps current) and read the whole answer, bounded like get(); a 401 is retried once likewise.
  boost::asio::awaitable<ApiResult<ApiResponse>> send(boost::beast::http::verb method, std::string target,
                                                      std::string body, std::chrono::milliseconds timeout,
                                                      std::uint64_t max_body_bytes = default_max_event_bytes);

  // GET a streaming response and call `on_line` for each newline-terminated line until the server
  // ends the stream. `on_open` runs once the status line arrives (a watch is established then,
  // long before it ends). `idle_timeout` bounds the wait for each read, not the whole stream. A
  // line (or a non-200 body) longer than `max_line_bytes` ends the stream with
  // ApiErrorKind::too_large; the lines before it have been delivered.
  boost::asio::awaitable<ApiResult<ApiResponse>> stream(std::string target,
                                                        std::function<void(std::string_view line)> on_line,
                                                        std::function<void(unsigned status)> on_open,
                                                        std::chrono::milliseconds idle_timeout,
                                                        std::uint64_t max_line_bytes = default_max_event_bytes);

  const ApiCounters& counters() const { return counters_; }
  const std::string& server() const { return server_; }
  CredentialProvider& credentials() { return *credentials_; }

 private:
  ApiClient() = default;
  struct Outgoing {
    boost::beast::http::verb method = boost::beast::http::verb::get;
    std::string target;
    std::string body;  // JSON, sent when not empty
  };
  // Where a 200 answer's body goes: gathered whole (all null), split into lines, or passed on in pieces.
  struct BodyReader {
    std::function<void(std::string_view)>* on_line = nullptr;
    BodyPieces* on_piece = nullptr;
    std::function<void(unsigned)>* on_open = nullptr;
  };
  boost::asio::awaitable<ApiResult<ApiResponse>> request(const Outgoing& out, BodyReader reader,
                                                         std::chrono::milliseconds timeout, std::uint64_t max_bytes);
  boost::asio::awaitable<ApiResult<ApiResponse>> retried_once(const Outgoing& out, BodyReader reader,
                                                              std::chrono::milliseconds timeout,
                                                              std::uint64_t max_bytes);

  std::string server_;
  bool tls_ = false;
  std::string host_;
  std::string port_;
  std::string sni_name_;
  std::unique_ptr<boost::asio::ssl::context> ssl_;
  std::unique_ptr<CredentialProvider> credentials_;
  ApiCounters counters_;
};

}  // namespace nodepack::kube
