// The API client holds at most a bounded part of an answer: a list body over its bound, or a watch
// line that grows past its bound without a newline, ends the request with a too_large error naming
// the bound, after at most that many bytes were held. A raw server stands in for the API server so
// a body can be endless and unterminated.

#include "kube/api_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace net = boost::asio;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;
using nodepack::SystemClock;
using nodepack::kube::ApiClient;
using nodepack::kube::ApiErrorKind;
using nodepack::kube::ApiResponse;
using nodepack::kube::ApiResult;
using nodepack::kube::ClusterConfig;

namespace {

constexpr std::uint64_t MiB = 1024 * 1024;

// Answers one connection with a 200 and a body of `first` followed by filler up to `total` bytes,
// chunked or with a Content-Length, until the client hangs up. Counts the body bytes it got out.
class RawServer {
 public:
  RawServer(bool chunked, std::string first, std::uint64_t total)
      : acceptor_(io_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)),
        chunked_(chunked),
        first_(std::move(first)),
        total_(total) {
    thread_ = std::thread([this] { serve(); });
  }
  ~RawServer() {
    if (!accepted_) {
      boost::system::error_code ec;
      tcp::socket wake(io_);
      wake.connect(acceptor_.local_endpoint(), ec);
    }
    thread_.join();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()); }
  std::uint64_t body_bytes_sent() const { return sent_; }

 private:
  void serve() {
    boost::system::error_code ec;
    tcp::socket socket(io_);
    acceptor_.accept(socket, ec);
    accepted_ = true;
    if (ec) {
      return;
    }
    net::streambuf request;
    net::read_until(socket, request, "\r\n\r\n", ec);
    const std::string head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" +
                             (chunked_ ? std::string("Transfer-Encoding: chunked\r\n")
                                       : "Content-Length: " + std::to_string(total_) + "\r\n") +
                             "\r\n";
    net::write(socket, net::buffer(head), ec);
    std::string piece = first_;
    const std::string filler(64 * 1024, 'x');
    while (!ec && sent_ < total_) {
      if (piece.empty()) {
        piece = filler.substr(0, std::min<std::uint64_t>(filler.size(), total_ - sent_));
      }
      std::vector<net::const_buffer> out;
      char size_line[32];
      if (chunked_) {
        out.push_back(net::buffer(size_line, std::snprintf(size_line, sizeof size_line, "%zx\r\n", piece.size())));
      }
      out.push_back(net::buffer(piece));
      if (chunked_) {
        out.push_back(net::buffer("\r\n", 2));
      }
      net::write(socket, out, ec);  // fails once the client has hung up (asio sends with MSG_NOSIGNAL)
      if (!ec) {
        sent_ += piece.size();
      }
      piece.clear();
    }
    if (!ec && chunked_) {
      net::write(socket, net::buffer("0\r\n\r\n", 5), ec);
    }
  }

  net::io_context io_;
  tcp::acceptor acceptor_;
  bool chunked_;
  std::string first_;
  std::uint64_t total_;
  std::atomic<bool> accepted_{false};
  std::atomic<std::uint64_t> sent_{0};
  std::thread thread_;
};

std::unique_ptr<ApiClient> client_for(const RawServer& server) {
  ClusterConfig config;
  config.server = server.url();
  return ApiClient::create(config, SystemClock::instance()).value();
}

ApiResult<ApiResponse> list(ApiClient& client, std::uint64_t max_bytes) {
  net::io_context io;
  std::optional<ApiResult<ApiResponse>> out;
  net::co_spawn(
      io, [&]() -> net::awaitable<void> { out = co_await client.get("/api/v1/pods", 10s, max_bytes); }, net::detached);
  io.run();
  REQUIRE(out.has_value());
  return *out;
}

// What get_pieces() passed on, and how it ended.
struct Pieces {
  std::optional<ApiResult<ApiResponse>> out;
  std::string body;  // the pieces joined
  std::size_t count = 0;
};

Pieces list_in_pieces(ApiClient& client, std::uint64_t max_bytes, std::uint64_t fail_after = UINT64_MAX) {
  net::io_context io;
  Pieces got;
  ApiClient::BodyPieces on_piece = [&](std::string_view piece) -> nodepack::Result<void> {
    if (got.body.size() + piece.size() > fail_after) {
      return nodepack::fail("response is not a JSON object");
    }
    got.body += piece;
    ++got.count;
    return {};
  };
  net::co_spawn(
      io,
      [&]() -> net::awaitable<void> { got.out = co_await client.get_pieces("/api/v1/pods", on_piece, 10s, max_bytes); },
      net::detached);
  io.run();
  REQUIRE(got.out.has_value());
  return got;
}

}  // namespace

TEST_CASE("a body read in pieces is passed on whole and in order, counted against its bound, never held") {
  for (const bool chunked : {true, false}) {
    INFO((chunked ? "chunked" : "with a Content-Length"));
    RawServer server(chunked, R"({"kind":"PodList","items":[)", 2 * MiB);
    auto client = client_for(server);
    const auto got = list_in_pieces(*client, 2 * MiB);
    REQUIRE(got.out->has_value());
    CHECK((*got.out)->status == 200);
    CHECK((*got.out)->body.empty());
    REQUIRE(got.body.size() == 2 * MiB);
    CHECK(got.body.starts_with(R"({"kind":"PodList","items":[xxx)"));
    CHECK(got.body.find_first_not_of('x', 27) == std::string::npos);
    CHECK(got.count >= 2 * MiB / (16 * 1024));  // in slices, not gathered first
    CHECK(client->counters().largest_buffered.load() == 2 * MiB);
  }
}

TEST_CASE("a body read in pieces over its bound fails as a gathered one does, after passing on at most the bound") {
  RawServer server(true, R"({"kind":"PodList","items":[)", 32 * MiB);
  auto client = client_for(server);
  const auto got = list_in_pieces(*client, 1 * MiB);
  REQUIRE_FALSE(got.out->has_value());
  CHECK(got.out->error().kind == ApiErrorKind::too_large);
  CHECK(got.out->error().message == "response body longer than 1048576 bytes");
  CHECK(got.body.size() <= 1 * MiB);
  CHECK(client->counters().largest_buffered.load() <= 1 * MiB);
  CHECK(client->counters().errors.load() == 0);
  CHECK(server.body_bytes_sent() < 32 * MiB);

  RawServer declared(false, "", 300 * MiB);
  auto second = client_for(declared);
  const auto early = list_in_pieces(*second, 1 * MiB);
  REQUIRE_FALSE(early.out->has_value());
  CHECK(early.out->error().kind == ApiErrorKind::too_large);
  CHECK(early.out->error().message == "response body of 314572800 bytes (Content-Length) is longer than 1048576 bytes");
  CHECK(early.count == 0);
}

TEST_CASE("a piece refused by its reader ends the request with the reader's error") {
  RawServer server(true, "", 32 * MiB);
  auto client = client_for(server);
  const auto got = list_in_pieces(*client, 64 * MiB, 100 * 1024);
  REQUIRE_FALSE(got.out->has_value());
  CHECK(got.out->error().kind == ApiErrorKind::bad_answer);
  CHECK(got.out->error().message == "response is not a JSON object");
  CHECK(got.body.size() <= 100 * 1024);
  CHECK(server.body_bytes_sent() < 32 * MiB);
}

TEST_CASE("a list body over its bound fails naming the bound, holding no more than the bound") {
  RawServer server(true, R"({"kind":"PodList","items":[)", 32 * MiB);
  auto client = client_for(server);
  const auto page = list(*client, 1 * MiB);
  REQUIRE_FALSE(page.has_value());
  CHECK(page.error().kind == ApiErrorKind::too_large);
  CHECK(page.error().message == "response body longer than 1048576 bytes");
  CHECK(client->counters().largest_buffered.load() <= 1 * MiB);
  CHECK(client->counters().errors.load() == 0);  // not a transport error
  CHECK(server.body_bytes_sent() < 32 * MiB);    // the client hung up early
}

TEST_CASE("a body of exactly the bound is read whole") {
  RawServer server(true, "", 2 * MiB);
  auto client = client_for(server);
  const auto page = list(*client, 2 * MiB);
  REQUIRE(page.has_value());
  CHECK(page->status == 200);
  CHECK(page->body.size() == 2 * MiB);
  CHECK(client->counters().largest_buffered.load() == 2 * MiB);
}

TEST_CASE("a Content-Length over the bound fails at the headers, holding none of the body") {
  RawServer server(false, "", 300 * MiB);
  auto client = client_for(server);
  const auto page = list(*client, 1 * MiB);
  REQUIRE_FALSE(page.has_value());
  CHECK(page.error().kind == ApiErrorKind::too_large);
  CHECK(page.error().message == "response body of 314572800 bytes (Content-Length) is longer than 1048576 bytes");
  CHECK(client->counters().largest_buffered.load() == 0);
}

TEST_CASE("an unterminated watch line beyond the event bound ends the stream; earlier lines arrived") {
  RawServer server(true, "{\"type\":\"ADDED\",\"object\":{}}\n", 32 * MiB);
  auto client = client_for(server);
  net::io_context io;
  std::vector<std::size_t> lines;
  std::optional<ApiResult<ApiResponse>> out;
  net::co_spawn(
      io,
      [&]() -> net::awaitable<void> {
        out = co_await client->stream(
            "/api/v1/pods?watch=1", [&](std::string_view line) { lines.push_back(line.size()); }, [](unsigned) {}, 10s,
            1 * MiB);
      },
      net::detached);
  io.run();
  REQUIRE(out.has_value());
  REQUIRE_FALSE(out->has_value());
  CHECK(out->error().kind == ApiErrorKind::too_large);
  CHECK(out->error().message == "unterminated watch event line longer than 1048576 bytes");
  CHECK(lines == std::vector<std::size_t>{28});
  // The unfinished line is checked after each 16 KiB read, so it may pass the bound by one read.
  CHECK(client->counters().largest_buffered.load() <= 1 * MiB + 16 * 1024);
  // The client hung up long before the end of the body (socket buffers hold a few MiB at most).
  CHECK(server.body_bytes_sent() < 32 * MiB);
}
