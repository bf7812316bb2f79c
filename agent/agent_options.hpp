#pragma once

#include "agent/bpf_stats_policy.hpp"
#include "common/host_paths.hpp"
#include "common/result.hpp"
#include "kpod/peers/topology.hpp"
#include "kpod/profile.hpp"
#include "kpod/scope/pod_scope.hpp"
#include "kube/api_limits.hpp"
#include "kube/pod_requests.hpp"
#include "kube/server_version.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace nodepack::agent {

// Who may read the agent's endpoints (all but /healthz and /readyz).
enum class AuthMode {
  kubernetes,  // bearer tokens reviewed by the API server, access by RBAC (TokenReview, SubjectAccessReview)
  none,        // anyone who reaches the port: labs, or a proxy that does the same in front
};

struct AgentOptions {
  std::string kubeconfig;
  std::string context;
  std::string node_name;  // --node-name, default $NODE_NAME
  std::string metrics_addr = ":9101";
  std::string metrics_path = "/metrics";
  std::vector<std::string> resources{"cpu", "memory"};
  bool disable_node_metrics = false;
  std::string log_level = "info";
  std::string log_format = "json";
  bool debug = false;  // KBE's --debug: the same as --log-level=debug, and wins over it
  std::chrono::nanoseconds resync_period = std::chrono::minutes(30);
  std::int64_t list_page_size = 500;
  std::int64_t max_list_bytes = static_cast<std::int64_t>(kube::default_max_list_bytes);
  std::int64_t max_watch_event_bytes = static_cast<std::int64_t>(kube::default_max_event_bytes);
  // auto: the API server's /version decides (kube/resize_tracker.hpp); or one rule, for clusters
  // that backport the scheduler's change.
  kube::ResizeSetting resize_semantics = kube::ResizeSetting::automatic;
  // --host-root (/sys, /proc, cgroups under it) and --kubelet-root, resolved once.
  HostPaths paths = HostPaths::under("/");
  bool collect_numa = true;                         // --collectors.numa
  bool collect_bpf = true;                          // --collectors.bpf: the kpod_* kernel and cgroup collectors
  kpod::Profile profile = kpod::Profile::standard;  // --profile
  std::map<std::string, bool> collector_overrides;  // --collector.<name>=true|false
  std::vector<std::string> tracked_syscalls;        // --syscalls
  std::chrono::nanoseconds dns_timeout = std::chrono::seconds(5);  // --kpod.dns.timeout
  std::int64_t dns_top_names = 0;                                  // --kpod.dns.top-names (0: off)
  std::string sched_variant = "auto";  // --kpod.sched.variant: auto (measured at start-up) or a forced one
  BpfStatsPolicy bpf_stats;            // --kpod.bpf-stats, --kpod.bpf-stats.window, --kpod.bpf-stats.period
  // --kpod.namespaces, --kpod.exclude-namespaces, --kpod.label-selector, --kpod.include-labels,
  // --cluster-name: which pods get kpod_* series and what labels they carry (checked at parse).
  kpod::PodScopeOptions kpod_scope;
  // --kpod.topology.peer-granularity, --kpod.topology.max-peers: the topology collector's naming
  // of pod peers and its cap on distinct edges.
  kpod::PeerGranularity peer_granularity = kpod::PeerGranularity::workload;
  std::int64_t topology_max_peers = 1000;
  std::string reserved_cpus;  // --reserved-cpus, the kubelet's, for NUMA allocatable
  // --podresources-socket: the kubelet's pod-resources API (empty: not asked); default under
  // --kubelet-root.
  std::string podresources_socket = "/var/lib/kubelet/pod-resources/kubelet.sock";
  std::chrono::nanoseconds podresources_interval = std::chrono::seconds(10);  // --podresources-interval
  bool nrt_export = false;                                                    // --nrt.export
  std::chrono::nanoseconds nrt_interval = std::chrono::seconds(10);           // --nrt.interval: at most one write per
  std::string nrt_topology_manager_policy;                                    // --nrt.topology-manager-policy
  std::string nrt_topology_manager_scope;                                     // --nrt.topology-manager-scope
  bool collect_accounting = true;     // --collectors.accounting: nodepack_container_* usage accounting
  std::string accounting_state_file;  // --accounting.state-file (empty: no persistence)
  std::chrono::nanoseconds accounting_sample_interval = std::chrono::seconds(10);
  std::chrono::nanoseconds accounting_retention = std::chrono::minutes(5);
  std::vector<std::string> accounting_gpu_resources{"nvidia.com/gpu", "amd.com/gpu"};
  std::string accounting_nvml_library = "libnvidia-ml.so.1";
  AuthMode auth_mode = AuthMode::kubernetes;  // --auth.mode
  // Readiness turns false when a watch has been failing for longer than this.
  std::chrono::nanoseconds unready_after = std::chrono::minutes(3);
  bool help = false;
  // -M (numainfo_exporter's --dump-metrics): print the NUMA metrics once on stderr and exit.
  bool dump_numa = false;
};

// Parses `nodepack agent` flags. `node_name_env` is node_name_from_environment() (injected for tests).
Result<AgentOptions> parse_agent_options(const std::vector<std::string>& args, const std::string& node_name_env);
// $NODE_NAME (the downward API), else numainfo_exporter's $NUMAINFO_NODENAME, else "".
std::string node_name_from_environment();
std::string agent_usage();

}  // namespace nodepack::agent
