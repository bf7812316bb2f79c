#pragma once

// A stand-in for an agent's /report: a nodepack_http server on 127.0.0.1:0 on a thread of its own,
// serving whatever document the test sets (a good report, garbage, a huge body), and counting
// requests and connections so tests can see keep-alive at work.

#include "common/rfc3339.hpp"
#include "http/server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace nodepack::testing {

// One edge of a report's "topology" block, in the shape issue 15 gives the agents.
struct TopologyEdgeSpec {
  std::string ns;
  std::string workload;
  std::string pod;
  std::string direction;  // outbound, inbound
  std::string peer_kind;  // pod, service, external, overflow
  std::string peer_ns;
  std::string peer_workload;
  std::int64_t port = 0;
  std::uint64_t connections = 0;
  std::uint64_t failures = 0;
  std::string protocol = "tcp";
};

inline boost::json::object topology_block_json(const std::vector<TopologyEdgeSpec>& edges) {
  boost::json::array out;
  for (const auto& e : edges) {
    out.push_back(boost::json::object{{"namespace", e.ns},
                                      {"workload", e.workload},
                                      {"pod", e.pod},
                                      {"direction", e.direction},
                                      {"peer_kind", e.peer_kind},
                                      {"peer_namespace", e.peer_ns},
                                      {"peer_workload", e.peer_workload},
                                      {"port", e.port},
                                      {"protocol", e.protocol},
                                      {"connections", e.connections},
                                      {"failures", e.failures}});
  }
  return boost::json::object{{"granularity", "workload"}, {"edges", std::move(out)}};
}

struct ReportSpec {
  std::string node;
  std::map<std::string, std::string> allocated;  // quantities; "pods" filled from pod_count
  std::map<std::string, std::string> daemonset;
  std::int64_t pod_count = 0;
  std::int64_t daemonset_pod_count = 1;
  std::chrono::system_clock::time_point built_at;
  std::map<std::string, std::string> allocatable;  // the agent's view; the Node object wins
  std::uint64_t generation = 1;
  std::optional<std::vector<TopologyEdgeSpec>> topology;  // none: an agent without the block
};

inline std::string report_json(const ReportSpec& spec) {
  boost::json::object allocated;
  for (const auto& [k, v] : spec.allocated) {
    allocated[k] = v;
  }
  allocated["pods"] = std::to_string(spec.pod_count);
  boost::json::object ds;
  for (const auto& [k, v] : spec.daemonset) {
    ds[k] = v;
  }
  ds["pods"] = std::to_string(spec.daemonset_pod_count);
  boost::json::object allocatable;
  for (const auto& [k, v] : spec.allocatable) {
    allocatable[k] = v;
  }
  boost::json::object report{{"schema_version", 1},
                             {"node", spec.node},
                             {"labels", boost::json::object{}},
                             {"node_known", true},
                             {"allocatable", std::move(allocatable)},
                             {"allocated", std::move(allocated)},
                             {"daemonset_allocated", std::move(ds)},
                             {"pod_count", spec.pod_count},
                             {"daemonset_pod_count", spec.daemonset_pod_count},
                             {"numa_zones", boost::json::array()},
                             {"synced", true},
                             {"generation", spec.generation},
                             {"built_at", format_rfc3339(spec.built_at)}};
  if (spec.topology) {
    report["topology"] = topology_block_json(*spec.topology);
  }
  return boost::json::serialize(report);
}

class FakeAgent {
 public:
  FakeAgent() {
    http::Router router;
    router.add("/report", [this](const http::Request& request) {
      ++requests_;
      std::lock_guard lock(mutex_);
      if (!etags_) {
        return http::Reply{http::make_response(request, boost::beast::http::status::ok, body_, "application/json"), {}};
      }
      // As the agent does: the tag follows the content, and an unchanged report is a 304.
      const std::string etag = "\"" + std::to_string(std::hash<std::string>{}(body_)) + "\"";
      if (request[boost::beast::http::field::if_none_match] == etag) {
        ++not_modified_;
        auto response = http::make_response(request, boost::beast::http::status::not_modified, "");
        response.set(boost::beast::http::field::etag, etag);
        return http::Reply{std::move(response), {}};
      }
      auto response = http::make_response(request, boost::beast::http::status::ok, body_, "application/json");
      response.set(boost::beast::http::field::etag, etag);
      return http::Reply{std::move(response), {}};
    });
    server_ = std::make_unique<http::Server>(io_, std::move(router));
    if (!server_->listen("127.0.0.1:0")) {
      throw std::runtime_error("fake agent cannot listen");
    }
    port_ = server_->endpoint().port();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~FakeAgent() { stop(); }
  FakeAgent(const FakeAgent&) = delete;
  FakeAgent& operator=(const FakeAgent&) = delete;

  void serve(std::string body) {
    std::lock_guard lock(mutex_);
    body_ = std::move(body);
  }
  void serve(const ReportSpec& spec) { serve(report_json(spec)); }
  // Tags reports with an ETag and answers If-None-Match with 304 while the report is the same.
  void use_etags() { etags_ = true; }
  std::uint64_t not_modified() const { return not_modified_.load(); }
  // Stops answering: once this returns, the port refuses connections.
  void stop() {
    if (server_) {
      server_->stop();
      // The server closes its acceptor on the io thread; wait until connecting is refused rather
      // than stopping the io_context first and leaving a listening socket that never answers.
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      while (thread_.joinable() && std::chrono::steady_clock::now() < deadline) {
        boost::asio::io_context probe_io;
        boost::asio::ip::tcp::socket probe(probe_io);
        boost::system::error_code ec;
        probe.connect({boost::asio::ip::make_address("127.0.0.1"), port_}, ec);
        if (ec) {
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));  // poll interval
      }
    }
    io_.stop();
    if (thread_.joinable()) {
      thread_.join();
    }
  }
  std::uint16_t port() const { return port_; }
  std::uint64_t requests() const { return requests_.load(); }
  std::uint64_t connections() const { return server_->stats().connections_accepted.load(); }

 private:
  boost::asio::io_context io_;
  std::unique_ptr<http::Server> server_;
  std::atomic<bool> etags_{false};
  std::atomic<std::uint64_t> not_modified_{0};
  std::thread thread_;
  std::uint16_t port_ = 0;
  std::mutex mutex_;
  std::string body_ = "{}";
  std::atomic<std::uint64_t> requests_{0};
};

}  // namespace nodepack::testing
