#include "test_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/json/parse.hpp>

#include <poll.h>
#include <sys/socket.h>

namespace nodepack::sim::test {

namespace net = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;

namespace {

void connect(tcp::socket& socket, std::uint16_t port, std::chrono::milliseconds receive_timeout) {
  socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  const auto ms = receive_timeout.count();
  timeval tv{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

void send_request(tcp::socket& socket, bhttp::verb verb, const std::string& target, const std::string& token,
                  const std::string& body = "", const std::string& accept = "application/json",
                  const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  bhttp::request<bhttp::string_body> request{verb, target, 11};
  request.set(bhttp::field::host, "127.0.0.1");
  request.set(bhttp::field::accept, accept);
  for (const auto& [name, value] : headers) {
    request.set(name, value);
  }
  if (!token.empty()) {
    request.set(bhttp::field::authorization, "Bearer " + token);
  }
  if (!body.empty()) {
    request.set(bhttp::field::content_type, "application/json");
    request.body() = body;
  }
  request.prepare_payload();
  bhttp::write(socket, request);
}

void wait_readable(tcp::socket& socket, std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  pollfd fd{socket.native_handle(), POLLIN, 0};
  ::poll(&fd, 1, static_cast<int>(std::max<long long>(0, left.count())));
}

}  // namespace

boost::json::value TestResponse::json() const {
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  return ec ? boost::json::value() : v;
}

TestResponse http_request(std::uint16_t port, bhttp::verb verb, const std::string& target, const std::string& token) {
  return http_send(port, verb, target, "", token);
}

TestResponse http_send(std::uint16_t port, bhttp::verb verb, const std::string& target, const std::string& body,
                       const std::string& token, const std::string& accept,
                       const std::vector<std::pair<std::string, std::string>>& headers) {
  net::io_context io;
  tcp::socket socket(io);
  connect(socket, port, std::chrono::seconds(5));
  send_request(socket, verb, target, token, body, accept, headers);
  boost::beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 << 20);
  bhttp::read(socket, buffer, parser);
  TestResponse out;
  out.status = parser.get().result_int();
  out.body = parser.get().body();
  for (const auto& field : parser.get().base()) {
    out.headers.insert(field.name_string(), field.value());
  }
  return out;
}

TestResponse http_get(std::uint16_t port, const std::string& target, const std::string& token) {
  return http_request(port, bhttp::verb::get, target, token);
}

WatchStream::WatchStream(std::uint16_t port, const std::string& target, const std::string& token) : socket_(io_) {
  connect(socket_, port, std::chrono::seconds(5));
  send_request(socket_, bhttp::verb::get, target, token);
  socket_.non_blocking(true);  // reads wait in poll() below, with a deadline
  parser_.body_limit(boost::none);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!parser_.is_header_done() && std::chrono::steady_clock::now() < deadline) {
    wait_readable(socket_, deadline);
    boost::system::error_code ec;
    bhttp::read_header(socket_, buffer_, parser_, ec);
    if (ec && ec != net::error::would_block && ec != net::error::try_again) {
      ended_ = true;
      return;
    }
  }
  status_ = parser_.get().result_int();
  if (parser_.is_done()) {
    ended_ = true;
  }
}

std::optional<boost::json::object> WatchStream::next(std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  bool progress = true;
  for (;;) {
    auto& body = parser_.get().body();
    if (const auto newline = body.find('\n'); newline != std::string::npos) {
      const std::string line = body.substr(0, newline);
      body.erase(0, newline + 1);
      boost::system::error_code ec;
      auto value = boost::json::parse(line, ec);
      if (ec || !value.is_object()) {
        return std::nullopt;
      }
      return value.as_object();
    }
    if (ended_ || std::chrono::steady_clock::now() >= deadline) {
      return std::nullopt;
    }
    if (!progress) {
      wait_readable(socket_, deadline);
    }
    // Bytes read along with the header are parsed first; only an empty-handed read waits.
    boost::system::error_code ec;
    bhttp::read_some(socket_, buffer_, parser_, ec);
    progress = !(ec == net::error::would_block || ec == net::error::try_again);
    if (parser_.is_done()) {
      ended_ = true;
    } else if (ec && ec != net::error::would_block && ec != net::error::try_again) {
      ended_ = true;
    }
  }
}

}  // namespace nodepack::sim::test
