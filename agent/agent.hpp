#pragma once

// `nodepack agent`: two reflectors (this node, the pods bound to it) feeding the node state, and
// an HTTP server with /metrics, probes, /sync, /report and debug pages, on one io_context thread.

#include "agent/agent_options.hpp"
#include "agent/metrics_registry.hpp"
#include "agent/node_state.hpp"
#include "common/clock.hpp"
#include "common/result.hpp"
#include "http/server.hpp"
#include "kube/api_client.hpp"
#include "kube/kubeconfig.hpp"
#include "kube/reflector.hpp"

#include <boost/asio/io_context.hpp>

#include <memory>
#include <thread>

namespace nodepack::agent {

namespace accounting {
class AccountingSource;
}
class BinpackingCollector;
class NumaSource;
class BpfSource;

// Test hooks: faster back-off and watch timeouts than production needs.
struct AgentTuning {
  std::chrono::milliseconds initial_backoff{800};
  std::chrono::milliseconds max_backoff{30'000};
  std::chrono::seconds min_watch_timeout{300};
};

class Agent {
 public:
  Agent(AgentOptions options, kube::ClusterConfig cluster, const Clock& clock, AgentTuning tuning = {});
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // Binds the HTTP server and starts the reflectors on a thread of their own.
  Result<void> start();
  void stop();

  boost::asio::ip::tcp::endpoint endpoint() const;
  const NodeState& state() const { return *state_; }
  bool ready(std::string* reason = nullptr) const;
  std::string render_metrics() const { return registry_.render(); }
  const kube::ApiClient& client() const { return *client_; }
  accounting::AccountingSource* accounting() { return accounting_.get(); }

 private:
  http::Router make_router();
  http::Reply index_page(const http::Request& request) const;
  http::Reply sync_page(const http::Request& request) const;
  http::Reply debug_pods(const http::Request& request) const;
  std::vector<kube::ReflectorStatus> watch_status() const;

  AgentOptions options_;
  kube::ClusterConfig cluster_;
  const Clock& clock_;
  AgentTuning tuning_;
  std::chrono::system_clock::time_point started_;

  boost::asio::io_context io_;
  std::thread thread_;
  std::unique_ptr<kube::ApiClient> client_;
  std::unique_ptr<NodeState> state_;
  std::unique_ptr<kube::Reflector> node_reflector_;
  std::unique_ptr<kube::Reflector> pod_reflector_;
  std::shared_ptr<BinpackingCollector> binpacking_;
  std::unique_ptr<NumaSource> numa_;                          // null with --collectors.numa=false
  std::unique_ptr<accounting::AccountingSource> accounting_;  // null with --collectors.accounting=false
#if NODEPACK_HAVE_BPF
  std::unique_ptr<BpfSource> bpf_;  // null with --collectors.bpf=false
  boost::asio::awaitable<void> follow_pod_changes();
#endif
  metrics::MetricsRegistry registry_;
  std::unique_ptr<http::Server> server_;
};

// `nodepack agent ...` from main: parses flags, resolves the cluster, runs until SIGINT/SIGTERM.
int run_agent(const std::vector<std::string>& args);

}  // namespace nodepack::agent
