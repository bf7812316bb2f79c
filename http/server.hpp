#pragma once

// The HTTP server shared by the agent, the aggregator and the simulated API server.
// Shaped after Beast's advanced server: one coroutine per connection (a strand of its own when
// the io_context runs on several threads), a fresh parser with header and body limits per request,
// a deadline before every read and write, clean stop. Optionally HTTPS (TLS 1.2 or later) with the
// same session logic; see http/tls.hpp for the context.
//
// Connections are admitted so that health probes and scrapes are answered whatever other peers do
// (see ServerLimits): a global and a per-address cap, idle connections closed first (oldest first)
// when a new one needs their slot, a header deadline shorter than the body's, a few extra slots
// that answer only health paths, and a hard ceiling on sockets above which accepted sockets are
// closed at once. A TLS stream is built only once a connection has sent its first byte.

#include "common/result.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
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
  // Given the plain body back once it has been written (or could not be): a handler that builds
  // a large body at every request keeps its buffer for the next one instead of having fresh
  // pages mapped, faulted in and unmapped each time.
  std::function<void(std::string&&)> recycle_body = {};
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

// Defaults suit a node agent: its peers are a Prometheus or two, the aggregator, the kubelet's probes
// and an operator's port-forward, each needing a few connections at most.
struct ServerLimits {
  // Regular connections: any request, kept alive between requests.
  std::size_t max_connections = 128;
  // Regular connections from one remote address (IPv4-mapped IPv6 counts as IPv4); 0: no limit.
  // A quarter of the cap: one misbehaving peer cannot take the port. A peer at its limit gives up
  // its own oldest idle connection first.
  std::size_t max_connections_per_client = 32;
  // Extra slots for connections refused a regular slot (either cap, no idle connection to close):
  // such a connection may send one request, which is answered only for health_paths (GET or HEAD,
  // no body; 503 otherwise), then closed. When all are taken, the oldest one whose request has not
  // arrived yet is closed for the newcomer, so slow sockets cannot starve a probe (which sends its
  // request as soon as it connects).
  std::size_t health_connections = 8;
  std::vector<std::string> health_paths = {"/healthz", "/readyz", "/livez"};
  // Hard ceiling on the sockets the server holds at once, whatever they are doing (regular, health,
  // closed to make room but not yet gone): a socket accepted above it is closed without a byte read
  // or sent. Taken as at least max_connections + health_connections + 16, so that closing an idle
  // connection for a newcomer always has room.
  std::size_t max_sockets = 192;
  // Descriptors kept free for the rest of the process (files, API connections): a socket accepted
  // with a descriptor this close to RLIMIT_NOFILE is closed at once and accepting pauses briefly.
  std::size_t fd_headroom = 64;
  std::size_t header_limit = 8 * 1024;
  std::size_t body_limit = 64 * 1024;
  // From accept to the end of the first request's header (a TLS handshake included), and from the
  // first byte of each later request to the end of its header. Short: a header is a few hundred
  // bytes sent at once, and a slow sender holds a slot.
  std::chrono::milliseconds header_timeout{5'000};
  std::chrono::milliseconds body_timeout{10'000};   // from the end of the header to the end of the body
  std::chrono::milliseconds health_timeout{2'000};  // a health slot: from accept to the end of its header
  std::chrono::milliseconds write_timeout{30'000};  // for each write
  std::chrono::milliseconds idle_timeout{60'000};   // keep-alive wait for the next request
  // Set: the port speaks HTTPS only (make one with make_server_tls_context). A plain-HTTP request
  // gets a plain 400 and is closed.
  std::shared_ptr<boost::asio::ssl::context> tls;
};

// Counters (monotonic) and gauges (now) for the modes to export.
struct ServerStats {
  std::atomic<std::uint64_t> connections_accepted{0};       // given a regular slot
  std::atomic<std::uint64_t> connections_rejected{0};       // refused a regular slot (either cap)
  std::atomic<std::uint64_t> per_client_rejections{0};      // of those, because their address was at its limit
  std::atomic<std::uint64_t> idle_evictions{0};             // idle regular connections closed for a newcomer
  std::atomic<std::uint64_t> health_evictions{0};           // health-slot connections closed for a newcomer
  std::atomic<std::uint64_t> health_requests{0};            // health paths answered from a health slot
  std::atomic<std::uint64_t> sockets_refused{0};            // closed at accept: hard ceiling, descriptors, no slot
  std::atomic<std::uint64_t> accept_pauses{0};              // descriptors near RLIMIT_NOFILE, or accept failed
  std::atomic<std::uint64_t> tls_streams_created{0};        // TLS state built (a connection spoke on a TLS port)
  std::atomic<std::uint64_t> connections_active{0};         // gauge: regular connections
  std::atomic<std::uint64_t> connections_idle{0};           // gauge: of those, waiting for a request
  std::atomic<std::uint64_t> health_connections_active{0};  // gauge: connections in a health slot
  std::atomic<std::uint64_t> sockets_open{0};               // gauge: sockets held, of every kind
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
// Gzips the body in place when the request accepts gzip and the body is worth compressing, and
// returns the body it replaced (empty when it left the body as it was), for a caller that reuses it.
std::string maybe_gzip(const Request& request, Response& response);
// The path without the query string, and one query parameter ("" when absent), URL-decoded.
std::string_view target_path(const Request& request);
std::string query_param(const Request& request, std::string_view name);
// Escapes < > & " ' for HTML text and attribute values.
std::string html_escape(std::string_view s);

}  // namespace nodepack::http
