#pragma once

// A TCP proxy a test can cut: every byte between a client and 127.0.0.1:upstream goes through it,
// and cut() closes the listener and every connection at once, as a network partition would (new
// connections are then refused).

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <cstdint>
#include <future>
#include <list>
#include <memory>
#include <thread>

namespace nodepack::testing {

class TcpProxy {
 public:
  explicit TcpProxy(std::uint16_t upstream) : upstream_(upstream), acceptor_(io_) {
    namespace ip = boost::asio::ip;
    acceptor_.open(ip::tcp::v4());
    acceptor_.bind({ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    auto accepting = accept();
    boost::asio::co_spawn(io_, std::move(accepting), boost::asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~TcpProxy() {
    cut();
    work_.reset();
    io_.stop();
    thread_.join();
  }
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  std::uint16_t port() const { return port_; }

  // Closes everything; returns once done.
  void cut() {
    std::promise<void> done;
    boost::asio::post(io_, [&] {
      boost::system::error_code ec;
      acceptor_.close(ec);
      for (auto& s : sockets_) {
        s->close(ec);
      }
      done.set_value();
    });
    done.get_future().wait();
  }

 private:
  using Socket = boost::asio::ip::tcp::socket;

  boost::asio::awaitable<void> accept() {
    namespace ip = boost::asio::ip;
    for (;;) {
      auto client = std::make_shared<Socket>(io_);
      boost::system::error_code ec;
      auto token = boost::asio::redirect_error(boost::asio::use_awaitable, ec);
      co_await acceptor_.async_accept(*client, token);
      if (ec) {
        co_return;  // cut
      }
      auto server = std::make_shared<Socket>(io_);
      server->connect({ip::make_address("127.0.0.1"), upstream_}, ec);
      if (ec) {
        continue;
      }
      sockets_.push_back(client);
      sockets_.push_back(server);
      auto up = pump(client, server);
      auto down = pump(server, client);
      boost::asio::co_spawn(io_, std::move(up), boost::asio::detached);
      boost::asio::co_spawn(io_, std::move(down), boost::asio::detached);
    }
  }

  static boost::asio::awaitable<void> pump(std::shared_ptr<Socket> from, std::shared_ptr<Socket> to) {
    std::array<char, 16384> buffer{};
    for (;;) {
      boost::system::error_code ec;
      auto token = boost::asio::redirect_error(boost::asio::use_awaitable, ec);
      const auto n = co_await from->async_read_some(boost::asio::buffer(buffer), token);
      if (ec) {
        to->close(ec);
        co_return;
      }
      co_await boost::asio::async_write(*to, boost::asio::buffer(buffer.data(), n), token);
      if (ec) {
        from->close(ec);
        co_return;
      }
    }
  }

  std::uint16_t upstream_;
  boost::asio::io_context io_;
  // Keeps the thread running after a cut, when no socket is left, so cut() can run again.
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{io_.get_executor()};
  boost::asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::list<std::shared_ptr<Socket>> sockets_;
  std::thread thread_;
};

}  // namespace nodepack::testing
