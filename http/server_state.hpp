#pragma once

// Internals shared by the listener and the sessions; not part of the public interface.

#include "http/server.hpp"

#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace nodepack::http::detail {

class Session;

// Everything a running server owns. Sessions hold it by shared_ptr, so it outlives the Server
// object until the last connection is gone.
struct ServerState : std::enable_shared_from_this<ServerState> {
  ServerState(boost::asio::io_context& io_context, Router r, ServerLimits l)
      : io(io_context),
        router(std::move(r)),
        limits(l),
        acceptor_strand(boost::asio::make_strand(io_context)),
        acceptor(acceptor_strand) {}

  boost::asio::io_context& io;
  const Router router;
  const ServerLimits limits;
  ServerStats stats;
  boost::asio::strand<boost::asio::io_context::executor_type> acceptor_strand;
  boost::asio::ip::tcp::acceptor acceptor;
  boost::asio::ip::tcp::endpoint local;

  // Open sessions, so stop() can close them. Guarded by mutex; sessions add and remove
  // themselves from whichever thread runs them.
  std::mutex mutex;
  bool stopped = false;
  std::uint64_t next_session_id = 0;
  std::unordered_map<std::uint64_t, std::weak_ptr<Session>> sessions;

  // Registers a session; false once the server is stopped (the caller then drops it).
  bool track(const std::shared_ptr<Session>& session);
  void untrack(std::uint64_t id);
  // Closes the acceptor and every tracked session.
  void stop();
};

// One connection. Runs as a coroutine on its own strand; `reject` connections (over the cap) only
// get a 503 and are closed.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(std::shared_ptr<ServerState> server, boost::asio::ip::tcp::socket socket, bool reject);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void set_id(std::uint64_t id) { id_ = id; }
  void start();
  // Thread-safe: closes the socket and cancels whatever the session is waiting on.
  void close();

 private:
  class Writer;

  static boost::asio::awaitable<void> run(std::shared_ptr<Session> self);
  boost::asio::awaitable<void> serve();
  boost::asio::awaitable<void> reject();
  boost::asio::awaitable<bool> write_plain(const Request& request, Response& response, bool keep_alive);
  boost::asio::awaitable<bool> write_stream(const Request& request, Reply& reply, bool keep_alive);
  boost::asio::awaitable<void> send_error(unsigned version, boost::beast::http::status status,
                                          std::string body);
  // Half-closes and reads what the peer still sends for a short while, so the peer sees our
  // reply instead of a reset caused by unread data.
  boost::asio::awaitable<void> linger_close();

  std::shared_ptr<ServerState> server_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  boost::asio::cancellation_signal cancel_;
  const bool reject_;
  std::uint64_t id_ = 0;
  bool closing_ = false;  // touched only on the session's strand
  bool done_ = false;
};

boost::asio::awaitable<void> accept_loop(std::shared_ptr<ServerState> state);

}  // namespace nodepack::http::detail
