#pragma once

// The HTTP server shared by the agent, the aggregator and the simulated API server.
// Shaped after Beast's advanced server: one coroutine per connection (a strand of its own when
// the io_context runs on several threads), a fresh parser with header and body limits per request,
// a timeout before every read and write, a cap on concurrent connections, clean stop. Optionally
// HTTPS (TLS 1.2 or later) with the same session logic; see http/tls.hpp for the context.

#include "common/result.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace boost::asio::ssl {
class context;
}

namespace nodepack::http {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

// Writes one chunk of a chunked (streaming) reply. co_returns false once the peer is gone or the
// write timed out; the stream function should then return.
class ChunkWriter {
 public:
  virtual ~ChunkWriter() = default;
  virtual boost::asio::awaitable<bool> write(std::string_view chunk) = 0;
};

// What a handler returns. A plain reply is `response` (status, headers, body). A streaming reply
// also sets `stream`: the server sends `response`'s status and headers with chunked encoding, then
// runs `stream` on the connection's executor until it returns, then ends the chunked body.
struct Reply {
  Response response;
  std::function<boost::asio::awaitable<void>(ChunkWriter&)> stream;
};

using Handler = std::function<Reply(const Request&)>;

// What the server knows about a request beyond its bytes.
struct RequestInfo {
  boost::asio::ip::tcp::endpoint remote;  // the peer (for logs and per-client rate limits)
  bool tls = false;                       // arrived over TLS (a cookie may then be Secure)
};

// A handler that waits on I/O (a query to another server) without holding up the thread that serves
// every other connection. It runs on the connection's executor.
using AsyncHandler = std::function<boost::asio::awaitable<Reply>(const Request&, const RequestInfo&)>;

// Exact-path routes plus prefix routes (longest prefix wins); the path excludes the query string.
class Router {
 public:
  void add(std::string path, Handler handler);
  void add_prefix(std::string prefix, Handler handler);
  void add_async(std::string path, AsyncHandler handler);
  void add_async_prefix(std::string prefix, AsyncHandler handler);
  // Routes to a synchronous handler only (an async route answers 500 here); for tests and callers
  // without an executor.
  Reply route(const Request& request) const;
  // Routes to either kind of handler.
  boost::asio::awaitable<Reply> route_async(const Request& request, RequestInfo info) const;

 private:
  struct Route {
    std::string path;
    bool prefix;
    Handler handler;
    AsyncHandler async_handler;
  };
  const Route* match(std::string_view path) const;
  std::vector<Route> routes_;
};

struct ServerLimits {
  std::size_t max_connections = 128;
  std::size_t header_limit = 8 * 1024;
  std::size_t body_limit = 64 * 1024;
  std::chrono::milliseconds read_timeout{10'000};   // for a whole request, headers and body
  std::chrono::milliseconds write_timeout{30'000};  // for each write
  std::chrono::milliseconds idle_timeout{60'000};   // keep-alive wait for the next request
  // Set: the port speaks HTTPS only (make one with make_server_tls_context). The TLS handshake
  // counts against read_timeout; a plain-HTTP request gets a plain 400 and is closed.
  std::shared_ptr<boost::asio::ssl::context> tls;
};

struct ServerStats {
  std::atomic<std::uint64_t> connections_accepted{0};
  std::atomic<std::uint64_t> connections_rejected{0};  // over max_connections
  std::atomic<std::uint64_t> connections_active{0};
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> bad_requests{0};          // parse errors, limits exceeded, timeouts
  std::atomic<std::uint64_t> tls_handshake_errors{0};  // failed or timed-out handshakes, plain HTTP on a TLS port
};

class Server {
 public:
  Server(boost::asio::io_context& io, Router router, ServerLimits limits = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts accepting. `address` is "host:port", ":port" (all interfaces) or
  // "[::1]:port"; port 0 picks a free port (see endpoint()).
  Result<void> listen(std::string_view address);
  boost::asio::ip::tcp::endpoint endpoint() const;
  // Stops accepting and closes every connection; pending handlers finish on their own.
  void stop();
  const ServerStats& stats() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// Parses a listen address as Server::listen takes it. Host names are resolved (IPv4 preferred).
Result<boost::asio::ip::tcp::endpoint> parse_listen_address(std::string_view address);

// Helpers handlers share.
Response make_response(const Request& request, boost::beast::http::status status, std::string body,
                       std::string_view content_type = "text/plain; charset=utf-8");
// Gzips the body in place when the request accepts gzip and the body is worth compressing.
void maybe_gzip(const Request& request, Response& response);
// The path without the query string, and one query parameter ("" when absent), URL-decoded.
std::string_view target_path(const Request& request);
std::string query_param(const Request& request, std::string_view name);
// Escapes < > & " ' for HTML text and attribute values.
std::string html_escape(std::string_view s);

}  // namespace nodepack::http
