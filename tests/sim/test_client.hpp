#pragma once

// A small blocking HTTP client for tests against the fake API server: plain requests, and watch
// streams read event by event. Every read has a deadline so a broken server fails the test
// instead of hanging it.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace nodepack::sim::test {

struct TestResponse {
  unsigned status = 0;
  std::string body;
  boost::beast::http::fields headers;
  boost::json::value json() const;  // null when the body is not JSON
};

TestResponse http_request(std::uint16_t port, boost::beast::http::verb verb, const std::string& target,
                          const std::string& token = "");
TestResponse http_get(std::uint16_t port, const std::string& target, const std::string& token = "");
// Any method with a JSON body, an Accept header and other headers of the caller's choosing.
TestResponse http_send(std::uint16_t port, boost::beast::http::verb verb, const std::string& target,
                       const std::string& body, const std::string& token = "",
                       const std::string& accept = "application/json",
                       const std::vector<std::pair<std::string, std::string>>& headers = {});

class WatchStream {
 public:
  WatchStream(std::uint16_t port, const std::string& target, const std::string& token = "");
  unsigned status() const { return status_; }
  // The next event, or nothing when the stream ended or no event came within `limit`.
  std::optional<boost::json::object> next(std::chrono::milliseconds limit = std::chrono::seconds(5));
  // True once the server has ended the chunked body.
  bool ended() const { return ended_; }

 private:
  boost::asio::io_context io_;
  boost::asio::ip::tcp::socket socket_;
  boost::beast::flat_buffer buffer_;
  boost::beast::http::response_parser<boost::beast::http::string_body> parser_;
  unsigned status_ = 0;
  bool ended_ = false;
};

}  // namespace nodepack::sim::test
