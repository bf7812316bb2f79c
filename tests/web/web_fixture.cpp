// The web UI over the real usage API, for the browser test: POST /api/<metric> and
// /api/v1/accounting against the Prometheus given on the command line, and the /web pages, with
// two users kept in memory (alice: every namespace; bob: team-b only, both password "secret").
// Prints "port=N" once listening, then serves until SIGTERM or SIGINT.
//
//   web_fixture PROMETHEUS_URL

#include "aggregator/billing/api.hpp"
#include "aggregator/web/web.hpp"
#include "common/clock.hpp"
#include "http/server.hpp"

#include <boost/asio/io_context.hpp>

#include <csignal>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include <pthread.h>

using namespace nodepack;
namespace bhttp = boost::beast::http;

namespace {

// Users, passwords and sessions: just enough of an authenticator to drive the pages.
class Users {
 public:
  Result<std::string> login(std::string_view user, std::string_view password) {
    std::lock_guard lock(mutex_);
    const auto it = namespaces_.find(std::string(user));
    if (it == namespaces_.end() || password != "secret") {
      return fail("Wrong user or password.");
    }
    std::string token = "s-";
    for (int i = 0; i < 32; ++i) {
      token.push_back("0123456789abcdef"[random_() % 16]);
    }
    sessions_[token] = web::Viewer{std::string(user), it->second};
    return token;
  }
  void logout(std::string_view token) {
    std::lock_guard lock(mutex_);
    sessions_.erase(std::string(token));
  }
  std::optional<web::Viewer> find(const http::Request& request) {
    const std::string_view cookies = request[bhttp::field::cookie];
    std::lock_guard lock(mutex_);
    for (const auto& [token, viewer] : sessions_) {
      if (cookies.find("nodepack_session=" + token) != std::string_view::npos) {
        return viewer;
      }
    }
    return std::nullopt;
  }

 private:
  std::mutex mutex_;
  std::mt19937_64 random_{std::random_device{}()};
  const std::map<std::string, std::vector<std::string>> namespaces_{{"alice", {}}, {"bob", {"team-b"}}};
  std::map<std::string, web::Viewer> sessions_;
};

http::Response unauthorized(const http::Request& request) {
  auto response = http::make_response(request, bhttp::status::unauthorized,
                                      R"({"error":"unauthorized","reason":"log in first"})", "application/json");
  return response;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: web_fixture PROMETHEUS_URL\n";
    return 2;
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  billing::PrometheusOptions prometheus;
  prometheus.url = argv[1];
  auto client = billing::PrometheusClient::create(prometheus);
  if (!client) {
    std::cerr << "web fixture: " << client.error().message << "\n";
    return 1;
  }
  Users users;
  billing::Api api(std::move(*client), {}, SystemClock::instance(),
                   [&users](const http::Request& r, const http::RequestInfo&) -> std::variant<billing::Access, http::Response> {
                     if (auto viewer = users.find(r)) {
                       return billing::Access{viewer->user, viewer->namespaces};
                     }
                     return unauthorized(r);
                   });
  http::Router router;
  api.add_routes(router);
  web::WebDeps deps;
  deps.login = [&users](std::string_view user, std::string_view password, const http::RequestInfo&) {
    return users.login(user, password);
  };
  deps.logout = [&users](std::string_view token) { users.logout(token); };
  deps.authenticate = [&users](const http::Request& r, const http::RequestInfo&) -> std::variant<web::Viewer, http::Response> {
    if (auto viewer = users.find(r)) {
      return *viewer;
    }
    return unauthorized(r);
  };
  web::add_web_routes(router, std::move(deps));

  boost::asio::io_context io;
  http::Server server(io, std::move(router));
  if (auto listened = server.listen("127.0.0.1:0"); !listened) {
    std::cerr << "web fixture: " << listened.error().message << "\n";
    return 1;
  }
  std::thread thread([&io] { io.run(); });
  std::cout << "port=" << server.endpoint().port() << std::endl;
  int signal = 0;
  sigwait(&signals, &signal);
  server.stop();
  io.stop();
  thread.join();
  return 0;
}
