#pragma once

// Internals shared by the listener and the sessions; not part of the public interface.

#include "http/admission.hpp"
#include "http/server.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/strand.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
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
        acceptor(acceptor_strand),
        admission_(limits, stats) {}

  boost::asio::io_context& io;
  const Router router;
  const ServerLimits limits;
  ServerStats stats;
  boost::asio::strand<boost::asio::io_context::executor_type> acceptor_strand;
  boost::asio::ip::tcp::acceptor acceptor;
  boost::asio::ip::tcp::endpoint local;

  // Decides a new connection's slot (see Admission) and closes the connections it evicts.
  // nullopt: the server is stopped, at its hard ceiling on sockets, or without a slot; close the
  // socket at once. Called on the acceptor strand, followed by attach() before the next accept.
  std::optional<Admitted> admit(const boost::asio::ip::address& client, bool spoke);
  // Registers the session admit() made room for; false once the server is stopped (drop it).
  bool attach(std::uint64_t id, const std::shared_ptr<Connection>& session);
  // Admission::wait, work and release, from whichever thread runs the session.
  void wait(std::uint64_t id);
  bool work(std::uint64_t id);
  void release(std::uint64_t id);
  // Closes the acceptor and every open session.
  void stop();

 private:
  // Guards everything below; sessions call in from whichever thread runs them.
  std::mutex mutex_;
  bool stopped_ = false;
  Admission admission_;
  // Every session alive, evicted ones included until they are gone: the sockets held.
  std::unordered_map<std::uint64_t, std::weak_ptr<Connection>> sessions_;
};

// One connection, whatever its stream (plain TCP or TLS over TCP; see session.cpp). Runs as a
// coroutine on its own strand.
class Connection {
 public:
  Connection(std::shared_ptr<ServerState> server, const Admitted& admitted)
      : server_(std::move(server)),
        id_(admitted.id),
        slot_(admitted.slot),
        proven_(admitted.spoke),
        accepted_at_(std::chrono::steady_clock::now()) {}
  virtual ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  virtual void start() = 0;
  // Thread-safe: closes the socket and cancels whatever the session is waiting on.
  virtual void close() = 0;

 protected:
  std::shared_ptr<ServerState> server_;
  const std::uint64_t id_;
  const Slot slot_;
  // The peer has shown it is there (its bytes were waiting at accept, or it finished a TLS
  // handshake): not evictable before its first request, which it is sending now.
  bool proven_;
  const std::chrono::steady_clock::time_point accepted_at_;
};

// A session over plain TCP, or over TLS when the server has a TLS context.
std::shared_ptr<Connection> make_session(std::shared_ptr<ServerState> server, boost::asio::ip::tcp::socket socket,
                                         const Admitted& admitted);

boost::asio::awaitable<void> accept_loop(std::shared_ptr<ServerState> state);

}  // namespace nodepack::http::detail
