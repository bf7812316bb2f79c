#include "aggregator/report_puller.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <optional>
#include <unordered_set>

namespace nodepack::aggregator {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

PullFailure transport_failure(const char* what, const beast::error_code& ec) {
  if (ec == beast::error::timeout) {
    return PullFailure{PullError::timeout, std::string(what) + ": timed out"};
  }
  return PullFailure{PullError::transport, std::string(what) + ": " + ec.message()};
}

// The peer closed a kept-alive connection while it sat idle: retry once on a new connection.
bool closed_while_idle(const beast::error_code& ec) {
  return ec == bhttp::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe;
}

}  // namespace

struct ReportPuller::Connection {
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;
  bool busy = false;  // a pull is using it
};

std::string ReportPuller::slot_key(const AgentTarget& target) { return target.node + '\n' + target.key(); }

struct ReportPuller::RoundState {
  std::vector<AgentTarget> targets;
  Deliver deliver;
  std::size_t next = 0;
  std::size_t running = 0;
  asio::steady_timer done;
  std::chrono::steady_clock::time_point start;
  std::chrono::nanoseconds spread{};
  std::size_t batch = 1;

  // When pull `index` may start: its batch's even share of the spread. Pulls are released a batch
  // (the concurrency) at a time rather than one by one: a wake-up per pull costs this thread, and
  // each agent, more than the pull itself once thousands are spread over seconds.
  std::chrono::steady_clock::time_point slot(std::size_t index) const {
    const auto share = spread.count() / static_cast<double>(targets.size());
    const std::size_t first_of_batch = index / batch * batch;
    return start + std::chrono::nanoseconds(static_cast<std::int64_t>(share * static_cast<double>(first_of_batch)));
  }
};

ReportPuller::ReportPuller(PullerOptions options) : options_(options) {}
ReportPuller::~ReportPuller() = default;

void ReportPuller::close(Connection& connection) {
  if (connection.stream) {
    beast::error_code ignored;
    connection.stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
    connection.stream->socket().close(ignored);
    connection.stream.reset();
    connection.buffer.clear();
    --open_;
  }
}

asio::awaitable<void> ReportPuller::round(std::vector<AgentTarget> targets, Deliver deliver, std::string authorization,
                                          std::chrono::nanoseconds spread) {
  auto executor = co_await asio::this_coro::executor;
  authorization_ = std::move(authorization);
  unauthorized_ = 0;
  // Connections to agents that are no longer targets are closed now rather than left to time out.
  std::unordered_set<std::string> keys;
  for (const auto& t : targets) {
    keys.insert(slot_key(t));
  }
  for (auto it = connections_.begin(); it != connections_.end();) {
    if (keys.contains(it->first)) {
      ++it;
    } else {
      close(*it->second);
      it = connections_.erase(it);
    }
  }
  for (const auto& key : keys) {
    auto& slot = connections_[key];
    if (!slot) {
      slot = std::make_unique<Connection>();
    }
  }
  if (spread > std::chrono::nanoseconds::zero()) {
    // A fixed place per agent, scattered over the window whatever order discovery gave them in.
    std::vector<std::pair<std::size_t, std::size_t>> places;  // (hash of the address, index)
    places.reserve(targets.size());
    for (std::size_t i = 0; i < targets.size(); ++i) {
      places.emplace_back(std::hash<std::string>{}(targets[i].key()), i);
    }
    std::sort(places.begin(), places.end());
    std::vector<AgentTarget> placed;
    placed.reserve(targets.size());
    for (const auto& [hash, index] : places) {
      placed.push_back(std::move(targets[index]));
    }
    targets = std::move(placed);
  }
  RoundState state{std::move(targets),
                   std::move(deliver),
                   0,
                   0,
                   asio::steady_timer(executor, asio::steady_timer::time_point::max()),
                   std::chrono::steady_clock::now(),
                   spread,
                   std::max<std::size_t>(options_.concurrency, 1)};
  const std::size_t workers = std::min(options_.concurrency, state.targets.size());
  state.running = workers;
  for (std::size_t i = 0; i < workers; ++i) {
    asio::co_spawn(executor, worker(&state), asio::detached);
  }
  if (state.running > 0) {
    co_await state.done.async_wait(use_nothrow);  // cancelled by the last worker
  }
}

asio::awaitable<void> ReportPuller::worker(RoundState* state) {
  asio::steady_timer pace(co_await asio::this_coro::executor);
  while (state->next < state->targets.size()) {
    const std::size_t index = state->next++;
    const AgentTarget& target = state->targets[index];
    if (const auto slot = state->slot(index); slot > std::chrono::steady_clock::now()) {
      pace.expires_at(slot);
      co_await pace.async_wait(use_nothrow);
    }
    // Two targets may share an address (an agent pod on one node serving another's port, a static
    // entry listed twice): a connection busy with one is not used for the other at the same time.
    const std::string key = slot_key(target);
    Connection& kept = *connections_.at(key);
    Connection spare;
    Connection& connection = kept.busy ? spare : kept;
    connection.busy = true;
    auto fetched = co_await fetch(target, key, connection);
    connection.busy = false;
    close(spare);
    if (!fetched) {
      state->deliver(target, fetched.error());
    } else if (fetched->unchanged) {
      ++unchanged_;
      state->deliver(target, Pulled(Unchanged{}));
    } else {
      auto report = parse_report(fetched->body, target.node);
      if (report && !fetched->etag.empty()) {
        etags_[key] = std::move(fetched->etag);
      } else {
        etags_.erase(key);
      }
      if (report) {
        state->deliver(target, Pulled(std::move(*report)));
      } else {
        state->deliver(target, report.error());
      }
    }
  }
  if (--state->running == 0) {
    state->done.cancel();
  }
}

asio::awaitable<PullResult<ReportPuller::Fetched>> ReportPuller::fetch(const AgentTarget& target,
                                                                       const std::string& key, Connection& connection) {
  auto executor = co_await asio::this_coro::executor;
  const auto deadline = std::chrono::steady_clock::now() + options_.timeout;
  bool reused = connection.stream.has_value();
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!connection.stream) {
      std::vector<tcp::endpoint> endpoints;
      boost::system::error_code aec;
      const auto address = asio::ip::make_address(target.host, aec);
      const auto port = static_cast<unsigned short>(std::stoi(target.port));
      if (!aec) {
        endpoints.emplace_back(address, port);
      } else {
        tcp::resolver resolver(executor);
        auto [rec, results] = co_await resolver.async_resolve(target.host, target.port, use_nothrow);
        if (rec) {
          co_return PullFailure{PullError::connect, "resolving " + target.host + ": " + rec.message()};
        }
        for (const auto& r : results) {
          endpoints.push_back(r.endpoint());
        }
      }
      connection.stream.emplace(executor);
      ++open_;
      ++opened_;
      connection.stream->expires_at(deadline);
      auto [cec, ep] = co_await connection.stream->async_connect(endpoints, use_nothrow);
      if (cec) {
        close(connection);
        if (cec == beast::error::timeout) {
          co_return PullFailure{PullError::timeout, "connecting to " + target.key() + ": timed out"};
        }
        co_return PullFailure{PullError::connect, "connecting to " + target.key() + ": " + cec.message()};
      }
    }
    bhttp::request<bhttp::empty_body> request{bhttp::verb::get, target.report_path(), 11};
    const bool v6 = target.host.find(':') != std::string::npos;
    request.set(bhttp::field::host, (v6 ? "[" + target.host + "]" : target.host) + ":" + target.port);
    request.set(bhttp::field::user_agent, "nodepack-aggregator");
    request.set(bhttp::field::accept, "application/json");
    if (!authorization_.empty()) {
      request.set(bhttp::field::authorization, authorization_);
    }
    if (const auto known = etags_.find(key); known != etags_.end()) {
      request.set(bhttp::field::if_none_match, known->second);
    }
    // A connection beyond the idle pool is used once: asking the agent to close it puts the
    // TIME_WAIT on the agent's side (one socket there) rather than thousands here.
    const bool keep = reused || open_ <= options_.max_idle_connections;
    request.keep_alive(keep);
    connection.stream->expires_at(deadline);
    auto [wec, wn] = co_await bhttp::async_write(*connection.stream, request, use_nothrow);
    if (wec) {
      close(connection);
      if (reused && attempt == 0 && closed_while_idle(wec)) {
        reused = false;
        continue;
      }
      co_return transport_failure("sending request", wec);
    }
    bhttp::response_parser<bhttp::string_body> parser;
    parser.header_limit(16 * 1024);
    parser.body_limit(options_.max_body_bytes);
    auto [rec, rn] = co_await bhttp::async_read(*connection.stream, connection.buffer, parser, use_nothrow);
    if (rec) {
      close(connection);
      if (rec == bhttp::error::body_limit) {
        co_return PullFailure{PullError::oversized,
                              "report larger than " + std::to_string(options_.max_body_bytes) + " bytes"};
      }
      if (reused && attempt == 0 && closed_while_idle(rec)) {
        reused = false;
        continue;
      }
      co_return transport_failure("reading response", rec);
    }
    auto response = parser.release();
    if (!keep || !response.keep_alive() || open_ > options_.max_idle_connections) {
      close(connection);
    } else if (connection.buffer.size() == 0) {
      // An idle connection keeps no read buffer: thousands of them would hold a report's worth each.
      connection.buffer.shrink_to_fit();
    }
    if (response.result_int() == 401 || response.result_int() == 403) {
      ++unauthorized_;
      co_return PullFailure{PullError::http_status,
                            "HTTP " + std::to_string(response.result_int()) + " from " + target.key() +
                                ": the agent does not accept the aggregator's credentials (RBAC: get on /report)"};
    }
    if (response.result_int() == 304 && etags_.contains(key)) {
      co_return Fetched{{}, {}, true};
    }
    if (response.result_int() != 200) {
      co_return PullFailure{PullError::http_status,
                            "HTTP " + std::to_string(response.result_int()) + " from " + target.key()};
    }
    co_return Fetched{std::move(response.body()), std::string(response[bhttp::field::etag]), false};
  }
  co_return PullFailure{PullError::transport, "connection to " + target.key() + " closed twice"};
}

}  // namespace nodepack::aggregator
