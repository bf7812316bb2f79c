// The listener: binds, accepts and hands each connection to a Session; Server's public methods.

#include "http/server_state.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <charconv>

namespace nodepack::http {

namespace net = boost::asio;
using tcp = net::ip::tcp;

Result<tcp::endpoint> parse_listen_address(std::string_view address) {
  const std::string quoted = "listen address \"" + std::string(address) + "\"";
  std::string_view host;
  std::string_view port_text;
  bool bracketed = false;
  if (!address.empty() && address.front() == '[') {
    const auto close = address.find(']');
    if (close == std::string_view::npos) {
      return fail(quoted + ": missing ']' after IPv6 address");
    }
    host = address.substr(1, close - 1);
    const auto rest = address.substr(close + 1);
    if (rest.empty() || rest.front() != ':') {
      return fail(quoted + ": expected \":port\" after ']'");
    }
    port_text = rest.substr(1);
    bracketed = true;
  } else {
    const auto colon = address.rfind(':');
    if (colon == std::string_view::npos) {
      return fail(quoted + ": expected host:port, :port or [ipv6]:port");
    }
    host = address.substr(0, colon);
    port_text = address.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return fail(quoted + ": IPv6 addresses must be written in brackets, e.g. [::1]:9101");
    }
  }
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || port_text.size() > 5 || ec != std::errc() || end != port_text.data() + port_text.size() ||
      port > 65535) {
    return fail(quoted + ": port must be a number from 0 to 65535");
  }
  if (host.empty()) {
    if (bracketed) {
      return fail(quoted + ": empty IPv6 address");
    }
    // All interfaces; listen() tries dual-stack IPv6 first and falls back to IPv4.
    return tcp::endpoint(net::ip::address_v6::any(), static_cast<unsigned short>(port));
  }
  boost::system::error_code parse_ec;
  const auto ip = net::ip::make_address(std::string(host), parse_ec);
  if (!parse_ec) {
    if (bracketed != ip.is_v6()) {
      return fail(quoted + (bracketed ? ": brackets hold an IPv6 address only" : ": bad address"));
    }
    return tcp::endpoint(ip, static_cast<unsigned short>(port));
  }
  if (bracketed) {
    return fail(quoted + ": \"" + std::string(host) + "\" is not an IPv6 address");
  }
  for (const char c : host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
    if (!ok) {
      return fail(quoted + ": \"" + std::string(host) + "\" is neither an IP address nor a host name");
    }
  }
  net::io_context io;
  tcp::resolver resolver(io);
  boost::system::error_code resolve_ec;
  const auto results = resolver.resolve(std::string(host), std::string(port_text), resolve_ec);
  if (resolve_ec || results.empty()) {
    return fail(quoted + ": cannot resolve \"" + std::string(host) + "\"" +
                (resolve_ec ? ": " + resolve_ec.message() : std::string()));
  }
  // Prefer IPv4 for names like localhost that resolve to both, as most clients try it first.
  for (const auto& entry : results) {
    if (entry.endpoint().address().is_v4()) {
      return entry.endpoint();
    }
  }
  return results.begin()->endpoint();
}

namespace detail {

bool ServerState::track(const std::shared_ptr<Connection>& session) {
  std::lock_guard lock(mutex);
  if (stopped) {
    return false;
  }
  const auto id = ++next_session_id;
  session->set_id(id);
  sessions.emplace(id, session);
  return true;
}

void ServerState::untrack(std::uint64_t id) {
  std::lock_guard lock(mutex);
  sessions.erase(id);
}

void ServerState::stop() {
  std::vector<std::shared_ptr<Connection>> open;
  {
    std::lock_guard lock(mutex);
    stopped = true;
    for (auto& [id, weak] : sessions) {
      if (auto session = weak.lock()) {
        open.push_back(std::move(session));
      }
    }
  }
  // The acceptor belongs to its strand; close it there.
  net::post(acceptor_strand, [self = shared_from_this()] {
    boost::system::error_code ec;
    self->acceptor.close(ec);
  });
  for (auto& session : open) {
    session->close();
  }
  // Sessions released here may run their destructors, which take the mutex: it is not held.
}

net::awaitable<void> accept_loop(std::shared_ptr<ServerState> state) {
  for (;;) {
    auto [ec, socket] =
        co_await state->acceptor.async_accept(net::make_strand(state->io), net::as_tuple(net::use_awaitable));
    if (ec) {
      if (ec == net::error::operation_aborted || !state->acceptor.is_open()) {
        co_return;
      }
      // Out of descriptors or a connection reset before accept: back off briefly, keep serving.
      net::steady_timer pause(state->acceptor_strand, std::chrono::milliseconds(50));
      co_await pause.async_wait(net::as_tuple(net::use_awaitable));
      continue;
    }
    const bool reject = state->stats.connections_active.load() >= state->limits.max_connections;
    if (reject) {
      ++state->stats.connections_rejected;
    } else {
      ++state->stats.connections_accepted;
      ++state->stats.connections_active;
    }
    auto session = make_session(state, tcp::socket(std::move(socket)), reject);
    if (!state->track(session)) {
      co_return;  // stopped meanwhile; dropping the session closes the socket
    }
    session->start();
  }
}

}  // namespace detail

struct Server::Impl : detail::ServerState {
  using ServerState::ServerState;
};

Server::Server(net::io_context& io, Router router, ServerLimits limits)
    : impl_(std::make_shared<Impl>(io, std::move(router), limits)) {}

Server::~Server() { stop(); }

Result<void> Server::listen(std::string_view address) {
  auto parsed = parse_listen_address(address);
  if (!parsed) {
    return parsed.error();
  }
  auto endpoint = *parsed;
  auto& acceptor = impl_->acceptor;
  const auto quoted = "listen on \"" + std::string(address) + "\": ";
  if (acceptor.is_open()) {
    return fail(quoted + "server is already listening");
  }
  boost::system::error_code ec;
  const bool any_v6 = endpoint.address() == net::ip::address(net::ip::address_v6::any());
  acceptor.open(endpoint.protocol(), ec);
  if (ec && any_v6) {
    // No IPv6 on this host: all interfaces means all IPv4 interfaces.
    endpoint = tcp::endpoint(net::ip::address_v4::any(), endpoint.port());
    acceptor.open(endpoint.protocol(), ec);
  }
  if (ec) {
    return fail(quoted + ec.message());
  }
  acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (endpoint.protocol() == tcp::v6() && any_v6) {
    acceptor.set_option(net::ip::v6_only(false), ec);
  }
  acceptor.bind(endpoint, ec);
  if (ec) {
    acceptor.close();
    return fail(quoted + ec.message());
  }
  acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    acceptor.close();
    return fail(quoted + ec.message());
  }
  impl_->local = acceptor.local_endpoint(ec);
  std::shared_ptr<detail::ServerState> state = impl_;
  net::co_spawn(impl_->acceptor_strand, detail::accept_loop(state), net::detached);
  return {};
}

tcp::endpoint Server::endpoint() const { return impl_->local; }

void Server::stop() { impl_->stop(); }

const ServerStats& Server::stats() const { return impl_->stats; }

}  // namespace nodepack::http
