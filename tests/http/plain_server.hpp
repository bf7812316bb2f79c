#pragma once

// A plain-HTTP server on 127.0.0.1:0 with its io_context on a thread of its own, and a blocking
// raw-socket client, for the server tests. Every wait is on a condition with a deadline.

#include "http/server.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <catch2/catch.hpp>

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace nodepack::testing {

inline bool wait_until(const std::function<bool()>& condition,
                       std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// Descriptors this process holds now (clients and server alike: they share the process).
inline std::size_t open_descriptors() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    ++n;
  }
  return n;
}

class TestServer {
 public:
  explicit TestServer(http::Router router, http::ServerLimits limits = {}) : server_(io_, std::move(router), limits) {
    auto listened = server_.listen("127.0.0.1:0");
    REQUIRE(listened.has_value());
    thread_ = std::thread([this] {
      io_.run();
      ran_out_ = true;
    });
  }
  ~TestServer() {
    server_.stop();
    thread_.join();
  }
  http::Server& server() { return server_; }
  const http::ServerStats& stats() const { return server_.stats(); }
  unsigned short port() const { return server_.endpoint().port(); }
  bool ran_out() const { return ran_out_; }

 private:
  boost::asio::io_context io_;
  http::Server server_;
  std::thread thread_;
  std::atomic<bool> ran_out_{false};
};

// Blocking sockets need no running io_context; all clients share one, so that a few hundred of
// them cost one descriptor each.
inline boost::asio::io_context& client_io() {
  static boost::asio::io_context io;
  return io;
}

// A blocking client connection from `source` (any 127.0.0.0/8 address works on Linux loopback, so
// tests can play several peers); a receive timeout keeps a broken server from hanging the test.
class Client {
 public:
  explicit Client(unsigned short port, const std::string& source = "127.0.0.1") : socket_(client_io()) {
    namespace net = boost::asio;
    using tcp = net::ip::tcp;
    socket_.open(tcp::v4());
    socket_.bind(tcp::endpoint(net::ip::make_address(source), 0));
    socket_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    timeval tv{5, 0};
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  void send(std::string_view raw) { boost::asio::write(socket_, boost::asio::buffer(raw)); }
  // For peers the server may have closed: false instead of a throw.
  bool try_send(std::string_view raw) {
    boost::system::error_code ec;
    boost::asio::write(socket_, boost::asio::buffer(raw), ec);
    return !ec;
  }
  boost::beast::http::response<boost::beast::http::string_body> get(
      std::string target, std::vector<std::pair<std::string, std::string>> headers = {}) {
    namespace bhttp = boost::beast::http;
    bhttp::request<bhttp::string_body> request{bhttp::verb::get, target, 11};
    request.set(bhttp::field::host, "test");
    for (auto& [k, v] : headers) {
      request.set(k, v);
    }
    bhttp::write(socket_, request);
    return read();
  }
  boost::beast::http::response<boost::beast::http::string_body> read(bool head = false) {
    namespace bhttp = boost::beast::http;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(16 << 20);
    parser.skip(head);
    bhttp::read(socket_, buffer_, parser);
    return parser.release();
  }
  // True once the server has closed the connection (EOF or reset).
  bool closed_by_peer() {
    char c;
    boost::system::error_code ec;
    socket_.read_some(boost::asio::buffer(&c, 1), ec);
    return ec == boost::asio::error::eof || ec == boost::asio::error::connection_reset;
  }
  // True if the server has closed the connection by now; does not wait.
  bool closed_now() {
    pollfd pfd{socket_.native_handle(), POLLIN, 0};
    if (::poll(&pfd, 1, 0) <= 0) {
      return false;
    }
    char c;
    const auto n = ::recv(socket_.native_handle(), &c, 1, MSG_DONTWAIT | MSG_PEEK);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }
  boost::asio::ip::tcp::socket& socket() { return socket_; }
  boost::beast::flat_buffer& buffer() { return buffer_; }

 private:
  boost::asio::ip::tcp::socket socket_;
  boost::beast::flat_buffer buffer_;
};

inline http::Reply text(const http::Request& request, std::string body) {
  return http::Reply{http::make_response(request, boost::beast::http::status::ok, std::move(body)), {}};
}

}  // namespace nodepack::testing
