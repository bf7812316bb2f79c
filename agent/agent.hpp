#pragma once

// `nodepack agent`: two reflectors (this node, the pods bound to it) feeding the node state, the
// sources that read the node itself (NUMA, usage accounting, per-pod kernel metrics), and an HTTP
// server with /metrics, probes, /sync, /report and debug pages, on one io_context thread.

#include "agent/agent_options.hpp"
#include "agent/node_state.hpp"
#include "common/clock.hpp"
#include "common/result.hpp"
#include "http/server.hpp"
#include "kube/api_client.hpp"
#include "kube/kubeconfig.hpp"
#include "kube/reflector.hpp"
#include "kube/resize_tracker.hpp"
#include "metrics/registry.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <memory>
#include <thread>
#include <vector>

namespace nodepack::cgroup {
class CgroupResolver;
}
namespace nodepack::kube {
class AccessReviewer;
}

namespace nodepack::agent {

namespace accounting {
class AccountingSource;
}
class BinpackingCollector;
class Coalescer;
class EndpointAuth;
class KernelSource;
class NumaSource;
class PeerWatch;
class Source;
class StorePodLookup;

// Back-off and watch timeouts; tests shorten them.
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
  accounting::AccountingSource* accounting() { return accounting_; }

 private:
  Result<void> make_sources();
  http::Router make_router();
  http::Reply config_page(const http::Request& request) const;
  http::Reply sync_page(const http::Request& request) const;
  http::Reply debug_pods(const http::Request& request) const;
  std::vector<kube::ReflectorStatus> watch_status() const;
  // Once ready and settled, unmaps start-up's code pages (common/resident_code.hpp).
  boost::asio::awaitable<void> drop_startup_pages();

  AgentOptions options_;
  kube::ClusterConfig cluster_;
  const Clock& clock_;
  AgentTuning tuning_;
  std::chrono::system_clock::time_point started_;

  boost::asio::io_context io_;
  std::thread thread_;
  std::unique_ptr<kube::ApiClient> client_;
  std::unique_ptr<kube::ResizeTracker> resize_;  // the in-place resize rule in force
  std::unique_ptr<NodeState> state_;
  std::unique_ptr<StorePodLookup> pod_lookup_;
  std::unique_ptr<cgroup::CgroupResolver> cgroups_;  // one per agent; null without cgroup v2
  std::unique_ptr<kube::Reflector> node_reflector_;
  std::unique_ptr<kube::Reflector> pod_reflector_;
  std::unique_ptr<PeerWatch> peers_;  // cluster-wide pods, Services, EndpointSlices; null unless topology_enabled
  std::shared_ptr<BinpackingCollector> binpacking_;
  std::vector<std::unique_ptr<Source>> sources_;        // in start order
  NumaSource* numa_ = nullptr;                          // in sources_; null with --collectors.numa=false
  accounting::AccountingSource* accounting_ = nullptr;  // likewise with --collectors.accounting=false
  KernelSource* kernel_ = nullptr;                      // likewise with --collectors.bpf=false
  std::unique_ptr<Coalescer> pods_changed_;
  std::unique_ptr<PodListener> pod_events_;  // notifies pods_changed_
  metrics::MetricsRegistry registry_;
  std::unique_ptr<kube::AccessReviewer> access_reviewer_;  // null with --auth.mode=none
  std::unique_ptr<EndpointAuth> endpoint_auth_;
  std::unique_ptr<http::Server> server_;
};

// `nodepack agent ...` from main: parses flags, resolves the cluster, runs until SIGINT/SIGTERM.
int run_agent(const std::vector<std::string>& args);

}  // namespace nodepack::agent
