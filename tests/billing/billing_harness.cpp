#include "billing_harness.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <catch2/catch.hpp>

#include <sys/socket.h>

namespace nodepack::billing::test {

namespace net = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;

boost::json::value HttpReply::json() const {
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  return ec ? boost::json::value() : v;
}

std::string HttpReply::header(std::string_view name) const {
  auto it = headers.find(name);
  return it == headers.end() ? std::string() : std::string(it->value());
}

HttpReply send(std::uint16_t port, bhttp::verb method, const std::string& target, const std::string& body,
               const std::map<std::string, std::string>& headers) {
  net::io_context io;
  tcp::socket socket(io);
  socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  timeval tv{20, 0};  // a test fails rather than hangs when the server never answers
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  bhttp::request<bhttp::string_body> request{method, target, 11};
  request.set(bhttp::field::host, "127.0.0.1");
  for (const auto& [k, v] : headers) {
    request.set(k, v);
  }
  request.body() = body;
  request.prepare_payload();
  bhttp::write(socket, request);
  boost::beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 << 20);
  bhttp::read(socket, buffer, parser);
  HttpReply out;
  out.status = parser.get().result_int();
  out.body = parser.get().body();
  for (const auto& field : parser.get().base()) {
    out.headers.insert(field.name_string(), field.value());
  }
  return out;
}

HttpReply post(std::uint16_t port, const std::string& target, const std::string& body, const std::string& user) {
  std::map<std::string, std::string> headers{{"Content-Type", "application/json"}};
  if (!user.empty()) {
    headers["X-USERNAME"] = user;
    headers["X-PASSWORD"] = "secret";
  }
  return send(port, bhttp::verb::post, target, body, headers);
}

HttpReply get(std::uint16_t port, const std::string& target, const std::string& user) {
  std::map<std::string, std::string> headers;
  if (!user.empty()) {
    headers["X-USERNAME"] = user;
    headers["X-PASSWORD"] = "secret";
  }
  return send(port, bhttp::verb::get, target, "", headers);
}

Authenticate test_authenticator() {
  return [](const http::Request& request, const http::RequestInfo&) -> std::variant<Access, http::Response> {
    const auto it = request.find("X-USERNAME");
    const std::string user = it == request.end() ? "" : std::string(it->value());
    if (user == "admin") {
      return Access{user, {}};
    }
    if (user == "alice") {
      return Access{user, {"beta"}};
    }
    if (user == "bob") {
      return Access{user, {"gamma", "beta"}};
    }
    if (user == "mallet") {  // a namespace no users file would accept
      return Access{user, {".*"}};
    }
    auto reply = json_error(request, bhttp::status::unauthorized, "unauthorized", "no credentials");
    reply.response.set(bhttp::field::www_authenticate, "Basic realm=\"nodepack\"");
    return std::move(reply.response);
  };
}

ServerThread::ServerThread(http::Router router, http::ServerLimits limits)
    : server_(std::make_unique<http::Server>(io_, std::move(router), std::move(limits))) {
  auto listened = server_->listen("127.0.0.1:0");
  REQUIRE(listened.has_value());
  thread_ = std::thread([this] { io_.run(); });
}

ServerThread::~ServerThread() {
  server_->stop();
  io_.stop();
  thread_.join();
}

std::uint16_t ServerThread::port() const { return server_->endpoint().port(); }

ApiServer::ApiServer(const std::string& prometheus_url, const Clock& clock, ApiOptions options) {
  std::unique_ptr<PrometheusClient> client;
  if (!prometheus_url.empty()) {
    PrometheusOptions p;
    p.url = prometheus_url;
    p.timeout = std::chrono::seconds(10);
    auto created = PrometheusClient::create(p);
    REQUIRE(created.has_value());
    client = std::move(*created);
  }
  api_ = std::make_unique<Api>(std::move(client), options, clock, test_authenticator());
  http::Router router;
  api_->add_routes(router);
  server_ = std::make_unique<ServerThread>(std::move(router));
}

std::string form_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size()) {
      out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

FakePrometheus::FakePrometheus(unsigned status, std::string answer, std::shared_ptr<boost::asio::ssl::context> tls)
    : status_(status), answer_(std::move(answer)), tls_(tls != nullptr) {
  http::Router router;
  auto handler = [this](const http::Request& r) {
    {
      std::lock_guard lock(mutex_);
      forms_.push_back(std::string(r.target()) + "?" + form_decode(r.body()));
      authorizations_.emplace_back(r[bhttp::field::authorization]);
    }
    auto response = http::make_response(r, static_cast<bhttp::status>(status_), answer_, "application/json");
    return http::Reply{std::move(response), {}};
  };
  router.add("/prefix/api/v1/query", handler);
  router.add("/prefix/api/v1/query_range", handler);
  http::ServerLimits limits;
  limits.tls = std::move(tls);
  server_ = std::make_unique<ServerThread>(std::move(router), std::move(limits));
}

std::string FakePrometheus::url() const {
  return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(server_->port()) + "/prefix/";
}

std::vector<std::string> FakePrometheus::forms() const {
  std::lock_guard lock(mutex_);
  return forms_;
}

std::vector<std::string> FakePrometheus::authorizations() const {
  std::lock_guard lock(mutex_);
  return authorizations_;
}

}  // namespace nodepack::billing::test
