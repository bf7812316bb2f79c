// One connection: read a request with a fresh parser, route it, write the reply, repeat while
// keep-alive holds. Every read and write has a deadline; nothing thrown leaves the coroutine.

#include "http/server_state.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <array>
#include <exception>

namespace nodepack::http::detail {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;

namespace {
constexpr auto use_tuple = net::as_tuple(net::use_awaitable);
constexpr std::chrono::milliseconds max_linger{1000};
constexpr std::size_t max_linger_bytes = 1 << 20;
}  // namespace

// The ChunkWriter a streaming handler gets: one chunk per write, false once the peer is gone.
class Session::Writer final : public ChunkWriter {
 public:
  explicit Writer(Session& session) : session_(session) {}

  net::awaitable<bool> write(std::string_view chunk) override {
    if (!alive_ || session_.closing_) {
      co_return false;
    }
    if (chunk.empty()) {
      co_return true;  // an empty chunk would end the body
    }
    session_.stream_.expires_after(session_.server_->limits.write_timeout);
    auto [ec, n] = co_await net::async_write(session_.stream_,
                                             bhttp::make_chunk(net::const_buffer(chunk.data(), chunk.size())),
                                             use_tuple);
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

Session::Session(std::shared_ptr<ServerState> server, tcp::socket socket, bool reject)
    : server_(std::move(server)), stream_(std::move(socket)), reject_(reject) {}

Session::~Session() {
  if (!reject_) {
    --server_->stats.connections_active;
  }
  server_->untrack(id_);
}

void Session::start() {
  net::co_spawn(stream_.get_executor(), run(shared_from_this()),
                net::bind_cancellation_slot(cancel_.slot(), net::detached));
}

void Session::close() {
  net::post(stream_.get_executor(), [self = shared_from_this()] {
    self->closing_ = true;
    beast::error_code ec;
    self->stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    self->stream_.close();
    if (!self->done_) {
      self->cancel_.emit(net::cancellation_type::terminal);
    }
  });
}

net::awaitable<void> Session::run(std::shared_ptr<Session> self) {
  try {
    if (self->reject_) {
      co_await self->reject();
    } else {
      co_await self->serve();
    }
  } catch (const std::exception&) {
    // A handler, a stream function or the transport failed; the connection goes, the server stays.
    if (!self->closing_) {
      ++self->server_->stats.bad_requests;
    }
  }
  self->done_ = true;
  beast::error_code ec;
  self->stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
  self->stream_.close();
}

net::awaitable<void> Session::serve() {
  const auto& limits = server_->limits;
  bool first = true;
  for (;;) {
    if (!first && buffer_.size() == 0) {
      // Keep-alive: wait up to the idle timeout for the next request to start.
      stream_.expires_after(limits.idle_timeout);
      auto [ec, n] = co_await stream_.async_read_some(buffer_.prepare(4096), use_tuple);
      if (ec) {
        co_return;
      }
      buffer_.commit(n);
    }
    first = false;

    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(limits.header_limit, UINT32_MAX)));
    parser.body_limit(limits.body_limit);
    stream_.expires_after(limits.read_timeout);
    auto [ec, n] = co_await bhttp::async_read(stream_, buffer_, parser, use_tuple);
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
      } else if (ec == beast::error::timeout || ec == net::error::connection_reset ||
                 ec == net::error::broken_pipe || ec == net::error::eof) {
        // Too slow or gone: cut it off without a reply.
      } else {
        co_await send_error(version, bhttp::status::bad_request, "bad request: " + ec.message() + "\n");
      }
      co_return;
    }
    ++server_->stats.requests;

    const Request& request = parser.get();
    Reply reply;
    try {
      beast::error_code remote_ec;
      RequestInfo info{stream_.socket().remote_endpoint(remote_ec)};
      reply = co_await server_->router.route_async(request, info);
    } catch (const std::exception&) {
      ++server_->stats.bad_requests;
      reply.response = make_response(request, bhttp::status::internal_server_error, "internal error\n");
      reply.response.keep_alive(false);
    }
    const bool keep_alive = request.keep_alive() && reply.response.keep_alive() && !closing_;
    const bool ok = reply.stream ? co_await write_stream(request, reply, keep_alive)
                                 : co_await write_plain(request, reply.response, keep_alive);
    if (!ok || !keep_alive) {
      if (ok) {
        beast::error_code shutdown_ec;
        stream_.socket().shutdown(tcp::socket::shutdown_send, shutdown_ec);
      }
      co_return;
    }
  }
}

net::awaitable<bool> Session::write_plain(const Request& request, Response& response, bool keep_alive) {
  response.keep_alive(keep_alive);
  response.prepare_payload();
  stream_.expires_after(server_->limits.write_timeout);
  if (request.method() == bhttp::verb::head) {
    // Same headers as GET, Content-Length included, no body.
    bhttp::response<bhttp::empty_body> head{std::move(response.base())};
    auto [ec, n] = co_await bhttp::async_write(stream_, head, use_tuple);
    (void)n;
    co_return !ec;
  }
  auto [ec, n] = co_await bhttp::async_write(stream_, response, use_tuple);
  (void)n;
  co_return !ec;
}

net::awaitable<bool> Session::write_stream(const Request& request, Reply& reply, bool keep_alive) {
  bhttp::response<bhttp::empty_body> head{std::move(reply.response.base())};
  head.keep_alive(keep_alive);
  head.chunked(true);
  stream_.expires_after(server_->limits.write_timeout);
  if (request.method() == bhttp::verb::head) {
    auto [ec, n] = co_await bhttp::async_write(stream_, head, use_tuple);
    (void)n;
    co_return !ec;
  }
  bhttp::response_serializer<bhttp::empty_body> serializer{head};
  {
    auto [ec, n] = co_await bhttp::async_write_header(stream_, serializer, use_tuple);
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
  stream_.expires_after(server_->limits.write_timeout);
  auto [ec, n] = co_await net::async_write(stream_, bhttp::make_chunk_last(), use_tuple);
  (void)n;
  co_return !ec;
}

net::awaitable<void> Session::send_error(unsigned version, bhttp::status status, std::string body) {
  Response response{status, version};
  response.set(bhttp::field::server, "nodepack");
  response.set(bhttp::field::content_type, "text/plain; charset=utf-8");
  response.keep_alive(false);
  response.body() = std::move(body);
  response.prepare_payload();
  stream_.expires_after(server_->limits.write_timeout);
  auto [ec, n] = co_await bhttp::async_write(stream_, response, use_tuple);
  (void)n;
  if (!ec) {
    co_await linger_close();
  }
}

net::awaitable<void> Session::linger_close() {
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream_.expires_after(std::min<std::chrono::milliseconds>(server_->limits.read_timeout, max_linger));
  std::array<char, 4096> scratch{};
  std::size_t drained = 0;
  while (drained < max_linger_bytes && !closing_) {
    auto [read_ec, n] = co_await stream_.async_read_some(net::buffer(scratch), use_tuple);
    if (read_ec) {
      break;
    }
    drained += n;
  }
}

net::awaitable<void> Session::reject() {
  co_await send_error(11, bhttp::status::service_unavailable, "too many connections\n");
}

}  // namespace nodepack::http::detail
