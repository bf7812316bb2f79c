// One connection: read a request with a fresh parser, route it, write the reply, repeat while
// keep-alive holds. Every read and write has a deadline; nothing thrown leaves the coroutine.
// The same code serves plain TCP and TLS: Session is a template on the stream, and the few steps
// that differ (the handshake, the end of a connection) branch on `tls` at compile time.
// A connection tells the server when it waits for a request (it may then be closed to make room)
// and when it works on one. A health-slot connection gets one request, answered only for a health
// path. Over TLS, the TLS stream is built only once the peer has sent its first byte.

#include "http/server_state.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <algorithm>
#include <array>
#include <exception>
#include <optional>
#include <tuple>
#include <type_traits>

namespace nodepack::http::detail {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;

Connection::~Connection() { server_->release(id_); }

namespace {

constexpr auto use_tuple = net::as_tuple(net::use_awaitable);
constexpr std::chrono::milliseconds max_linger{1000};
constexpr std::size_t max_linger_bytes = 1 << 20;
// Every TLS connection starts with a handshake record; anything else is not TLS.
constexpr unsigned char tls_handshake_record = 0x16;

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

Response plain_error(unsigned version, bhttp::status status, std::string body) {
  Response response{status, version};
  response.set(bhttp::field::server, "nodepack");
  response.set(bhttp::field::content_type, "text/plain; charset=utf-8");
  response.keep_alive(false);
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

template <class Stream>
class Session final : public Connection, public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool tls = std::is_same_v<Stream, TlsStream>;

  Session(std::shared_ptr<ServerState> server, tcp::socket socket, const Admitted& admitted)
      : Connection(std::move(server), admitted), tcp_(std::move(socket)), executor_(tcp_.get_executor()) {}

  void start() override {
    net::co_spawn(executor_, run(this->shared_from_this()), net::bind_cancellation_slot(cancel_.slot(), net::detached));
  }

  void close() override {
    net::post(executor_, [self = this->shared_from_this()] {
      self->closing_ = true;
      self->close_socket();
      if (!self->done_) {
        self->cancel_.emit(net::cancellation_type::terminal);
      }
    });
  }

 private:
  class Writer;

  // Before a TLS handshake the TCP stream stands alone; the TLS stream then takes it over.
  beast::tcp_stream& tcp_layer() {
    if constexpr (tls) {
      if (tls_) {
        return beast::get_lowest_layer(*tls_);
      }
    }
    return tcp_;
  }
  // The stream requests and replies go over (over TLS: after the handshake).
  Stream& stream() {
    if constexpr (tls) {
      return *tls_;
    } else {
      return tcp_;
    }
  }
  void close_socket() {
    beast::error_code ec;
    tcp_layer().socket().shutdown(tcp::socket::shutdown_both, ec);
    tcp_layer().close();
  }
  // From accept to the end of the first request's header, handshake included.
  std::chrono::steady_clock::time_point first_deadline() const {
    const auto& limits = server_->limits;
    return accepted_at_ + (slot_ == Slot::health ? limits.health_timeout : limits.header_timeout);
  }

  static net::awaitable<void> run(std::shared_ptr<Session> self);
  net::awaitable<bool> handshake();
  net::awaitable<void> serve();
  net::awaitable<void> serve_health();
  // The router's reply; a handler that throws is a 500 that closes the connection.
  net::awaitable<Reply> route(const Request& request);
  net::awaitable<bool> write_plain(const Request& request, Response& response, bool keep_alive);
  net::awaitable<bool> write_stream(const Request& request, Reply& reply, bool keep_alive);
  // Hands a written plain body back to the handler that asked for it (Reply::recycle_body).
  static void recycle(Reply& reply) {
    if (reply.recycle_body && !reply.stream) {
      reply.recycle_body(std::move(reply.response.body()));
    }
  }
  net::awaitable<void> send_error(unsigned version, bhttp::status status, std::string body);
  net::awaitable<void> finish_send();
  net::awaitable<void> linger_close();
  template <class ReadStream>
  net::awaitable<void> drain(ReadStream& stream);

  beast::tcp_stream tcp_;
  std::optional<TlsStream> tls_;  // over TLS, from the first byte on
  net::any_io_executor executor_;
  beast::flat_buffer buffer_;
  net::cancellation_signal cancel_;
  bool closing_ = false;  // touched only on the session's strand
  bool done_ = false;
};

// The ChunkWriter a streaming handler gets: one chunk per write, false once the peer is gone.
template <class Stream>
class Session<Stream>::Writer final : public ChunkWriter {
 public:
  explicit Writer(Session& session) : session_(session) {}

  net::awaitable<bool> write(std::string_view chunk) override {
    if (!alive_ || session_.closing_) {
      co_return false;
    }
    if (chunk.empty()) {
      co_return true;  // an empty chunk would end the body
    }
    session_.tcp_layer().expires_after(session_.server_->limits.write_timeout);
    auto [ec, n] = co_await net::async_write(
        session_.stream(), bhttp::make_chunk(net::const_buffer(chunk.data(), chunk.size())), use_tuple);
    (void)n;
    if (ec) {
      alive_ = false;
    }
    co_return alive_;
  }

  bool alive() const { return alive_ && !session_.closing_; }

 private:
  Session& session_;
  bool alive_ = true;
};

template <class Stream>
net::awaitable<void> Session<Stream>::run(std::shared_ptr<Session> self) {
  try {
    if (co_await self->handshake()) {
      if (self->slot_ == Slot::health) {
        co_await self->serve_health();
      } else {
        co_await self->serve();
      }
    }
  } catch (const std::exception&) {
    // A handler, a stream function or the transport failed; the connection goes, the server stays.
    if (!self->closing_) {
      ++self->server_->stats.bad_requests;
    }
  }
  self->done_ = true;
  self->close_socket();
}

// Over TLS: waits for the peer's first bytes with no TLS state yet (a socket that never speaks
// costs a descriptor and this object, nothing more), then answers a plain-HTTP request with a
// readable plain 400 (instead of a TLS alert the client would print as garbage), or builds the
// TLS stream and completes the handshake by the first deadline. The bytes read to tell the two
// apart are handed to the handshake. False: close the connection.
template <class Stream>
net::awaitable<bool> Session<Stream>::handshake() {
  if constexpr (!tls) {
    co_return true;
  } else {
    auto& stats = server_->stats;
    tcp_.expires_at(first_deadline());
    auto [ec, n] = co_await tcp_.async_read_some(buffer_.prepare(4096), use_tuple);
    if (ec) {
      if (!closing_) {
        ++stats.tls_handshake_errors;
      }
      co_return false;
    }
    buffer_.commit(n);
    if (slot_ == Slot::regular && !server_->work(id_)) {
      co_return false;  // evicted while the bytes were on their way
    }
    if (static_cast<const unsigned char*>(buffer_.data().data())[0] != tls_handshake_record) {
      ++stats.tls_handshake_errors;
      auto response =
          plain_error(11, bhttp::status::bad_request, "this port speaks HTTPS; the request was plain HTTP\n");
      tcp_.expires_after(server_->limits.write_timeout);
      auto [wec, wn] = co_await bhttp::async_write(tcp_, response, use_tuple);
      (void)wn;
      if (!wec) {
        beast::error_code shutdown_ec;
        tcp_.socket().shutdown(tcp::socket::shutdown_send, shutdown_ec);
        co_await drain(tcp_);
      }
      co_return false;
    }
    tls_.emplace(std::move(tcp_), *server_->limits.tls);
    ++stats.tls_streams_created;
    tcp_layer().expires_at(first_deadline());
    auto [hec, used] = co_await tls_->async_handshake(net::ssl::stream_base::server, buffer_.data(), use_tuple);
    if (hec) {
      if (!closing_) {
        ++stats.tls_handshake_errors;
      }
      co_return false;
    }
    buffer_.consume(used);
    proven_ = true;
    co_return true;
  }
}

template <class Stream>
net::awaitable<void> Session<Stream>::serve() {
  const auto& limits = server_->limits;
  bool first = true;
  for (;;) {
    if (buffer_.size() == 0) {
      // Idle: nothing of a request yet. The server may close the connection now to make room,
      // unless it is a proven peer's first request (see Connection::proven_).
      if (!first || !proven_) {
        server_->wait(id_);
      }
      tcp_layer().expires_at(first ? first_deadline() : std::chrono::steady_clock::now() + limits.idle_timeout);
      auto [ec, n] = co_await stream().async_read_some(buffer_.prepare(4096), use_tuple);
      if (ec) {
        if (first && ec == beast::error::timeout && !closing_) {
          ++server_->stats.bad_requests;  // connected and never asked anything
        }
        co_return;
      }
      buffer_.commit(n);
    }
    if (!server_->work(id_)) {
      co_return;  // evicted while the request was on its way
    }
    // The header has until the first deadline, or header_timeout from a later request's first byte;
    // the body gets its own deadline, so a slow header cannot borrow the body's time.
    tcp_layer().expires_at(first ? first_deadline() : std::chrono::steady_clock::now() + limits.header_timeout);
    first = false;

    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(limits.header_limit, UINT32_MAX)));
    parser.body_limit(limits.body_limit);
    auto [ec, n] = co_await bhttp::async_read_header(stream(), buffer_, parser, use_tuple);
    if (!ec && !parser.is_done()) {
      tcp_layer().expires_after(limits.body_timeout);
      std::tie(ec, n) = co_await bhttp::async_read(stream(), buffer_, parser, use_tuple);
    }
    (void)n;
    if (ec == bhttp::error::end_of_stream) {
      co_return;  // the peer closed between requests
    }
    if (ec) {
      if (closing_ || ec == net::error::operation_aborted) {
        co_return;
      }
      ++server_->stats.bad_requests;
      const unsigned version = parser.is_header_done() ? parser.get().version() : 11;
      if (ec == bhttp::error::header_limit) {
        co_await send_error(version, bhttp::status::request_header_fields_too_large,
                            "request header fields too large\n");
      } else if (ec == bhttp::error::body_limit) {
        co_await send_error(version, bhttp::status::payload_too_large, "request body too large\n");
      } else if (ec == beast::error::timeout || ec == net::error::connection_reset || ec == net::error::broken_pipe ||
                 ec == net::error::eof || ec == net::ssl::error::stream_truncated) {
        // Too slow or gone: cut it off without a reply.
      } else if (ec.category() == net::error::get_ssl_category()) {
        // A TLS-level failure: there is no channel left to reply on.
      } else {
        co_await send_error(version, bhttp::status::bad_request, "bad request: " + ec.message() + "\n");
      }
      co_return;
    }
    ++server_->stats.requests;

    const Request& request = parser.get();
    Reply reply = co_await route(request);
    const bool keep_alive = request.keep_alive() && reply.response.keep_alive() && !closing_;
    const bool ok = reply.stream ? co_await write_stream(request, reply, keep_alive)
                                 : co_await write_plain(request, reply.response, keep_alive);
    recycle(reply);
    if (!ok || !keep_alive) {
      if (ok) {
        co_await finish_send();
      }
      co_return;
    }
  }
}

template <class Stream>
net::awaitable<Reply> Session<Stream>::route(const Request& request) {
  Reply reply;
  try {
    beast::error_code remote_ec;
    RequestInfo info{tcp_layer().socket().remote_endpoint(remote_ec), tls};
    reply = co_await server_->router.route_async(request, info);
  } catch (const std::exception&) {
    ++server_->stats.bad_requests;
    reply.response = make_response(request, bhttp::status::internal_server_error, "internal error\n");
    reply.response.keep_alive(false);
  }
  co_return reply;
}

// A connection that found no regular slot: one request, by the health deadline. A health path is
// routed as usual (the probe sees the real answer, ready or not); anything else gets 503. Either
// way the connection then closes, and may be evicted while it does.
template <class Stream>
net::awaitable<void> Session<Stream>::serve_health() {
  const auto& limits = server_->limits;
  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(limits.header_limit, UINT32_MAX)));
  tcp_layer().expires_at(first_deadline());
  auto [ec, n] = co_await bhttp::async_read_header(stream(), buffer_, parser, use_tuple);
  (void)n;
  if (ec || !server_->work(id_)) {
    co_return;  // too slow, malformed, gone or evicted: an over-cap peer gets no more of our time
  }
  ++server_->stats.requests;
  const Request& request = parser.get();
  const auto& paths = limits.health_paths;
  const bool health = parser.is_done() &&
                      (request.method() == bhttp::verb::get || request.method() == bhttp::verb::head) &&
                      std::find(paths.begin(), paths.end(), target_path(request)) != paths.end();
  if (!health) {
    server_->wait(id_);
    co_await send_error(request.version(), bhttp::status::service_unavailable, "too many connections\n");
    co_return;
  }
  ++server_->stats.health_requests;
  Reply reply = co_await route(request);
  const bool ok = reply.stream ? co_await write_stream(request, reply, false)
                               : co_await write_plain(request, reply.response, false);
  recycle(reply);
  server_->wait(id_);
  if (ok) {
    co_await finish_send();
  }
}

template <class Stream>
net::awaitable<bool> Session<Stream>::write_plain(const Request& request, Response& response, bool keep_alive) {
  response.keep_alive(keep_alive);
  response.prepare_payload();
  tcp_layer().expires_after(server_->limits.write_timeout);
  if (request.method() == bhttp::verb::head) {
    // Same headers as GET, Content-Length included, no body.
    bhttp::response<bhttp::empty_body> head{std::move(response.base())};
    auto [ec, n] = co_await bhttp::async_write(stream(), head, use_tuple);
    (void)n;
    co_return !ec;
  }
  auto [ec, n] = co_await bhttp::async_write(stream(), response, use_tuple);
  (void)n;
  co_return !ec;
}

template <class Stream>
net::awaitable<bool> Session<Stream>::write_stream(const Request& request, Reply& reply, bool keep_alive) {
  bhttp::response<bhttp::empty_body> head{std::move(reply.response.base())};
  head.keep_alive(keep_alive);
  head.chunked(true);
  tcp_layer().expires_after(server_->limits.write_timeout);
  if (request.method() == bhttp::verb::head) {
    auto [ec, n] = co_await bhttp::async_write(stream(), head, use_tuple);
    (void)n;
    co_return !ec;
  }
  bhttp::response_serializer<bhttp::empty_body> serializer{head};
  {
    auto [ec, n] = co_await bhttp::async_write_header(stream(), serializer, use_tuple);
    (void)n;
    if (ec) {
      co_return false;
    }
  }
  Writer writer(*this);
  co_await reply.stream(writer);
  if (!writer.alive()) {
    co_return false;
  }
  tcp_layer().expires_after(server_->limits.write_timeout);
  auto [ec, n] = co_await net::async_write(stream(), bhttp::make_chunk_last(), use_tuple);
  (void)n;
  co_return !ec;
}

template <class Stream>
net::awaitable<void> Session<Stream>::send_error(unsigned version, bhttp::status status, std::string body) {
  auto response = plain_error(version, status, std::move(body));
  tcp_layer().expires_after(server_->limits.write_timeout);
  auto [ec, n] = co_await bhttp::async_write(stream(), response, use_tuple);
  (void)n;
  if (!ec) {
    co_await linger_close();
  }
}

// After the last reply of a connection: a TCP half-close, or over TLS a close_notify (which also
// waits, briefly, for the peer's).
template <class Stream>
net::awaitable<void> Session<Stream>::finish_send() {
  if constexpr (tls) {
    tcp_layer().expires_after(std::min<std::chrono::milliseconds>(server_->limits.write_timeout, max_linger));
    auto [ec] = co_await stream().async_shutdown(use_tuple);
    (void)ec;
  } else {
    beast::error_code ec;
    tcp_layer().socket().shutdown(tcp::socket::shutdown_send, ec);
  }
}

// After an error reply: reads what the peer still sends for a short while, so the peer sees our
// reply instead of a reset caused by unread data. Plain TCP half-closes first so the peer sees the
// end; a TLS peer closes on our Connection: close, then gets our close_notify.
template <class Stream>
net::awaitable<void> Session<Stream>::linger_close() {
  if constexpr (tls) {
    co_await drain(stream());
    if (!closing_) {
      co_await finish_send();
    }
  } else {
    beast::error_code ec;
    tcp_layer().socket().shutdown(tcp::socket::shutdown_send, ec);
    co_await drain(stream());
  }
}

template <class Stream>
template <class ReadStream>
net::awaitable<void> Session<Stream>::drain(ReadStream& stream) {
  tcp_layer().expires_after(std::min<std::chrono::milliseconds>(server_->limits.header_timeout, max_linger));
  std::array<char, 4096> scratch{};
  std::size_t drained = 0;
  while (drained < max_linger_bytes && !closing_) {
    auto [read_ec, n] = co_await stream.async_read_some(net::buffer(scratch), use_tuple);
    if (read_ec) {
      break;
    }
    drained += n;
  }
}

}  // namespace

std::shared_ptr<Connection> make_session(std::shared_ptr<ServerState> server, tcp::socket socket,
                                         const Admitted& admitted) {
  if (server->limits.tls) {
    return std::make_shared<Session<TlsStream>>(std::move(server), std::move(socket), admitted);
  }
  return std::make_shared<Session<PlainStream>>(std::move(server), std::move(socket), admitted);
}

}  // namespace nodepack::http::detail
