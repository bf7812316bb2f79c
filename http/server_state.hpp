#pragma once

// Internals shared by the listener and the sessions; not part of the public interface.

#include "http/server.hpp"

#include <boost/asio/strand.hpp>

#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace nodepack::http::detail {

class Connection;

// Everything a running server owns. Sessions hold it by shared_ptr, so it outlives the Server
// object until the last connection is gone.
struct ServerState : std::enable_shared_from_this<ServerState> {
  ServerState(boost::asio::io_context& io_context, Router r, ServerLimits l)
      : io(io_context),
        router(std::move(r)),
        limits(std::move(l)),
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
  std::unordered_map<std::uint64_t, std::weak_ptr<Connection>> sessions;

  // Registers a session; false once the server is stopped (the caller then drops it).
  bool track(const std::shared_ptr<Connection>& session);
  void untrack(std::uint64_t id);
  // Closes the acceptor and every tracked session.
  void stop();
};

// One connection, whatever its stream (plain TCP or TLS over TCP; see session.cpp). Runs as a
// coroutine on its own strand; `reject` connections (over the cap) only get a 503 and are closed.
class Connection {
 public:
  Connection(std::shared_ptr<ServerState> server, bool reject) : server_(std::move(server)), reject_(reject) {}
  virtual ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void set_id(std::uint64_t id) { id_ = id; }
  virtual void start() = 0;
  // Thread-safe: closes the socket and cancels whatever the session is waiting on.
  virtual void close() = 0;

 protected:
  std::shared_ptr<ServerState> server_;
  const bool reject_;
  std::uint64_t id_ = 0;
};

// A session over plain TCP, or over TLS when the server has a TLS context.
std::shared_ptr<Connection> make_session(std::shared_ptr<ServerState> server, boost::asio::ip::tcp::socket socket,
                                         bool reject);

boost::asio::awaitable<void> accept_loop(std::shared_ptr<ServerState> state);

}  // namespace nodepack::http::detail
