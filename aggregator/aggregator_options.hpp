#pragma once

// `nodepack aggregator` flags: KBE's flags kept as they are, plus discovery, pull, freshness, fit
// shapes and pending demand.

#include "aggregator/auth/credential_files.hpp"
#include "common/result.hpp"
#include "kube/api_limits.hpp"
#include "kube/pod_requests.hpp"
#include "kube/resource_list.hpp"
#include "kube/server_version.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nodepack::aggregator {

// Where one agent's report is pulled from: http://host:port{path_prefix}/report. `node` is the
// node the report must be about; empty for a static target given without one (the report's own
// node name is taken then).
struct AgentTarget {
  std::string node;
  std::string host;
  std::string port;
  std::string path_prefix;  // "" or "/nodes/n1" (no trailing slash)

  std::string key() const { return host + ":" + port + path_prefix; }
  std::string report_path() const { return path_prefix + "/report"; }
};

// --agents entries: "[node=]host:port[/path/prefix]"; host may be "[ipv6]".
Result<AgentTarget> parse_agent_target(std::string_view text);

// One --label-group: label keys whose value tuple names a group.
struct LabelGroup {
  std::vector<std::string> keys;
  std::string name;  // keys joined with ',' (the label_group label)
};
Result<LabelGroup> parse_label_group(std::string_view text);

// One --fit-shape: a pod of these requests; "how many more of it fit".
struct FitShape {
  std::string name;
  kube::ResourceList requests;  // every quantity positive; "pods" is implied (one per pod)
};
// "name=cpu:500m,memory:1Gi"
Result<FitShape> parse_fit_shape(std::string_view text);

// --node-source: where each node's allocated and DaemonSet figures come from.
enum class NodeSource {
  agents,     // the agents' reports only (a node without a fresh report adds nothing)
  api,        // the aggregator's own cluster-wide pod watch only (no agents needed: KBE's way)
  automatic,  // a node's fresh agent report when there is one, else the aggregator's own figures
};
Result<NodeSource> parse_node_source(std::string_view text);
std::string_view node_source_name(NodeSource source);

// --auth.secure-cookie: whether the web session cookie is marked Secure (sent over HTTPS only).
enum class SecureCookie {
  automatic,  // when the aggregator serves TLS itself (--tls-cert)
  always,     // behind a proxy that terminates TLS: the browser speaks HTTPS, the aggregator not
  never,      // plain HTTP on purpose (a laptop, kubectl port-forward)
};
Result<SecureCookie> parse_secure_cookie(std::string_view text);

struct AggregatorOptions {
  std::string kubeconfig;
  std::string context;
  std::string metrics_addr = ":9101";
  std::string metrics_path = "/metrics";
  std::vector<std::string> resources{"cpu", "memory"};
  std::vector<LabelGroup> label_groups;
  std::string node_selector;
  bool disable_node_metrics = false;
  std::string log_level = "info";
  std::string log_format = "json";
  bool debug = false;  // KBE's --debug: the same as --log-level=debug, and wins over it
  std::chrono::nanoseconds resync_period = std::chrono::minutes(30);
  std::int64_t list_page_size = 500;
  std::int64_t max_list_bytes = static_cast<std::int64_t>(kube::aggregator_max_list_bytes);
  std::int64_t max_watch_event_bytes = static_cast<std::int64_t>(kube::default_max_event_bytes);

  std::string agent_namespace = "nodepack";
  std::string agent_selector = "app.kubernetes.io/name=nodepack-agent";
  std::int64_t agent_port = 9101;
  std::vector<AgentTarget> agents;  // static targets; discovery is off when any are given
  std::int64_t pull_concurrency = 32;
  // Agent connections kept open between rounds; pulls beyond them connect, ask with
  // "Connection: close" and leave the close (and its TIME_WAIT) to the agent. Each kept connection
  // holds a descriptor here and a conntrack entry on the node: a large cluster keeps a pool, not
  // one per agent.
  std::int64_t pull_idle_connections = 4096;
  std::chrono::nanoseconds pull_timeout = std::chrono::seconds(5);
  std::chrono::nanoseconds pull_interval = std::chrono::seconds(15);
  // Pull rounds after the first start their pulls evenly over this fraction of the interval, each
  // agent at a fixed place in that window (by a hash of its address): a large cluster's agents are
  // then asked at a steady rate, not in one burst every interval.
  double pull_spread = 0.5;
  std::chrono::nanoseconds stale_after = std::chrono::minutes(2);
  std::int64_t max_report_bytes = 4 * 1024 * 1024;
  std::vector<FitShape> fit_shapes;
  bool pending_pods = true;
  NodeSource node_source = NodeSource::automatic;
  // KBE's leader election (aggregator/leader_election.hpp): only the Lease holder exports the
  // cluster series. The namespace defaults to the pod's own ($POD_NAMESPACE, then the service
  // account's namespace file, then "nodepack").
  bool leader_election = false;
  std::chrono::nanoseconds leader_election_lease_duration = std::chrono::seconds(15);
  std::chrono::nanoseconds leader_election_renew_deadline = std::chrono::seconds(10);
  std::chrono::nanoseconds leader_election_retry_period = std::chrono::seconds(2);
  std::string leader_election_namespace;
  std::string leader_election_name = "nodepack-aggregator";
  // auto: the API server's /version decides (kube/resize_tracker.hpp); or one rule.
  kube::ResizeSetting resize_semantics = kube::ResizeSetting::automatic;
  std::chrono::nanoseconds unready_after = std::chrono::minutes(3);

  // The usage API (aggregator/billing), off without a Prometheus to ask.
  std::string prometheus_url;
  std::chrono::nanoseconds prometheus_timeout = std::chrono::seconds(30);
  std::int64_t prometheus_max_bytes = 64 * 1024 * 1024;
  std::string prometheus_ca_file;
  std::string prometheus_bearer_token_file;
  std::chrono::nanoseconds api_max_range = std::chrono::hours(400 * 24);
  std::chrono::nanoseconds api_billing_step = std::chrono::minutes(5);
  // Who may use the API and the web UI (aggregator/auth). With --prometheus-url and neither file,
  // start-up refuses unless auth_anonymous says an open billing API is meant.
  std::string auth_users_file;
  std::string auth_tokens_file;
  // Kube-App's API_USERNAME/API_PASSWORD, already hashed (run_aggregator reads the environment,
  // never the flags): one user besides the files.
  std::optional<auth::UserEntry> auth_env_user;
  bool auth_anonymous = false;
  std::chrono::nanoseconds auth_session_lifetime = std::chrono::hours(12);
  std::int64_t auth_max_failures = 5;
  std::chrono::nanoseconds auth_failure_window = std::chrono::minutes(1);
  SecureCookie auth_secure_cookie = SecureCookie::automatic;
  // Passwords are hashed on a pool of their own, never on the serving thread; a full queue answers
  // 503 with Retry-After.
  std::int64_t auth_hash_threads = 2;
  std::int64_t auth_hash_queue = 16;
  // HTTPS on the serving port (every endpoint) when both are set.
  std::string tls_cert;
  std::string tls_key;
  std::string tls_client_ca;
  bool help = false;

  bool static_agents() const { return !agents.empty(); }
  bool auth_enabled() const { return !auth_users_file.empty() || !auth_tokens_file.empty() || auth_env_user; }
  bool secure_cookie() const {
    return auth_secure_cookie == SecureCookie::always ||
           (auth_secure_cookie == SecureCookie::automatic && !tls_cert.empty());
  }
};

Result<AggregatorOptions> parse_aggregator_options(const std::vector<std::string>& args);
std::string aggregator_usage();

}  // namespace nodepack::aggregator
