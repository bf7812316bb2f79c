#pragma once

// What the billing tests share: a blocking HTTP client with a deadline on every read, the usage
// API served on 127.0.0.1:0 with an injected clock and a stand-in authenticator, and a fake
// Prometheus that records the queries it gets and answers canned JSON.

#include "aggregator/billing/api.hpp"
#include "common/clock.hpp"
#include "http/server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace nodepack::billing::test {

struct HttpReply {
  unsigned status = 0;
  std::string body;
  boost::beast::http::fields headers;
  boost::json::value json() const;  // null when the body is not JSON
  std::string header(std::string_view name) const;
};

HttpReply send(std::uint16_t port, boost::beast::http::verb method, const std::string& target,
               const std::string& body = "", const std::map<std::string, std::string>& headers = {});
HttpReply post(std::uint16_t port, const std::string& target, const std::string& body,
               const std::string& user = "admin");
HttpReply get(std::uint16_t port, const std::string& target, const std::string& user = "admin");

// The stand-in authenticator: X-USERNAME "admin" sees everything, "alice" only namespace beta,
// "bob" beta and gamma; anyone else gets 401 JSON.
Authenticate test_authenticator();

// An http::Server on 127.0.0.1:0 running `router` on a thread of its own.
class ServerThread {
 public:
  explicit ServerThread(http::Router router, http::ServerLimits limits = {});
  ~ServerThread();
  std::uint16_t port() const;

 private:
  boost::asio::io_context io_;
  std::unique_ptr<http::Server> server_;
  std::thread thread_;
};

// The usage API over `prometheus_url` ("" = off).
class ApiServer {
 public:
  ApiServer(const std::string& prometheus_url, const Clock& clock, ApiOptions options = {});
  std::uint16_t port() const { return server_->port(); }

 private:
  std::unique_ptr<Api> api_;
  std::unique_ptr<ServerThread> server_;
};

// A fake Prometheus: answers every query with `answer` (status `status`) and keeps the forms;
// over HTTPS when given a TLS context.
class FakePrometheus {
 public:
  FakePrometheus(unsigned status, std::string answer, std::shared_ptr<boost::asio::ssl::context> tls = nullptr);
  std::string url() const;
  std::vector<std::string> forms() const;           // the decoded form bodies received, in order
  std::vector<std::string> authorizations() const;  // each query's Authorization header ("" if none)

 private:
  unsigned status_;
  std::string answer_;
  bool tls_;
  mutable std::mutex mutex_;
  std::vector<std::string> forms_;
  std::vector<std::string> authorizations_;
  std::unique_ptr<ServerThread> server_;
};

// URL-decodes an application/x-www-form-urlencoded value.
std::string form_decode(std::string_view text);

}  // namespace nodepack::billing::test
