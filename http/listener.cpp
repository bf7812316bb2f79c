// The listener: binds, accepts and hands each connection to a Session; Server's public methods.

#include "http/server_state.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <sys/resource.h>

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

namespace {

// How long accepting pauses when descriptors run short: long enough for closing sockets to give
// some back, short enough that a probe's connection waits in the backlog well within its timeout.
constexpr std::chrono::milliseconds accept_pause{100};

// Descriptors are handed out lowest first, so a new socket's number is at least the count of
// descriptors open: near the soft limit, the process is close to running out.
bool near_descriptor_limit(int fd, std::size_t headroom) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) {
    return false;
  }
  return static_cast<rlim_t>(fd) + headroom >= limit.rlim_cur;
}

}  // namespace

net::awaitable<void> accept_loop(std::shared_ptr<ServerState> state) {
  net::steady_timer pause(state->acceptor_strand);
  for (;;) {
    auto [ec, socket] =
        co_await state->acceptor.async_accept(net::make_strand(state->io), net::as_tuple(net::use_awaitable));
    bool short_of_descriptors = false;
    if (!ec && near_descriptor_limit(socket.native_handle(), state->limits.fd_headroom)) {
      ++state->stats.sockets_refused;
      socket.close(ec);
      short_of_descriptors = true;
    }
    if (ec || short_of_descriptors) {
      if (!short_of_descriptors && (ec == net::error::operation_aborted || !state->acceptor.is_open())) {
        co_return;
      }
      // Out of descriptors, or a connection reset before accept: back off briefly, keep serving.
      ++state->stats.accept_pauses;
      pause.expires_after(accept_pause);
      co_await pause.async_wait(net::as_tuple(net::use_awaitable));
      continue;
    }
    boost::system::error_code remote_ec;
    const auto remote = socket.remote_endpoint(remote_ec);
    if (remote_ec) {
      continue;  // gone already; dropping the socket closes it
    }
    // Bytes already waiting: the peer sent its request (or TLS hello) as it connected.
    boost::system::error_code available_ec;
    const bool spoke = socket.available(available_ec) > 0 && !available_ec;
    const auto admitted = state->admit(client_key(remote.address()), spoke);
    if (!admitted) {
      // No TLS state, no reply: the cheapest way to say no, whatever the number of sockets.
      ++state->stats.sockets_refused;
      continue;
    }
    auto session = make_session(state, std::move(socket), *admitted);
    if (!state->attach(admitted->id, session)) {
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
