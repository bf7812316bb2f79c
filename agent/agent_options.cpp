#include "agent/agent_options.hpp"

#include "agent/kernel_backend.hpp"
#include "common/duration.hpp"
#include "common/flags.hpp"
#include "common/logging.hpp"

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <optional>

namespace nodepack::agent {
namespace {

// Flags that are parsed into something else once every flag is in.
struct FlagText {
  std::string resources = "cpu,memory";
  std::string host_root = "/";
  std::string kubelet_root = "/var/lib/kubelet";
  std::optional<std::string> podresources_socket;  // unset: under --kubelet-root
};

// The socket's place under the kubelet's state directory, whatever --kubelet-root says.
constexpr const char* podresources_socket_under_root = "pod-resources/kubelet.sock";
constexpr std::chrono::seconds min_podresources_interval{1};

// A flag under nodepack's name and, for kpod-metrics users, under its property name.
void add_with_alias(FlagSet& flags, const std::string& name, const std::string& kpod_name, const std::string& help,
                    const std::string& default_text, const std::function<Result<void>(std::string_view)>& set) {
  flags.add(name, help, default_text, set);
  flags.add(kpod_name, "Same as --" + name + " (kpod-metrics' name)", default_text, set);
}

// kpod-metrics' filters and tags. They decide which pods get kpod_* series only: binpacking,
// NUMA and usage accounting count every pod whatever they say.
void register_kpod_scope_flags(FlagSet& flags, kpod::PodScopeOptions& s) {
  auto list = [](std::vector<std::string>& target) {
    return [&target](std::string_view v) -> Result<void> {
      target = split_list(v);
      return {};
    };
  };
  add_with_alias(flags, "kpod.namespaces", "kpod.filter.namespaces",
                 "Namespaces whose pods get kpod_* series (comma-separated; empty: every namespace)", "",
                 list(s.namespaces));
  add_with_alias(flags, "kpod.exclude-namespaces", "kpod.filter.exclude-namespaces",
                 "Namespaces whose pods get no kpod_* series (comma-separated; empty: none)", "kube-system,kube-public",
                 list(s.exclude_namespaces));
  add_with_alias(flags, "kpod.label-selector", "kpod.filter.label-selector",
                 "Only pods matching this label selector get kpod_* series (key=value, key!=value, key, !key, "
                 "key in (a,b), key notin (a,b))",
                 "", [&s](std::string_view v) -> Result<void> {
                   s.label_selector = std::string(v);
                   return {};
                 });
  add_with_alias(flags, "kpod.include-labels", "kpod.filter.include-labels",
                 "Pod labels copied onto every kpod_* series, names made Prometheus-safe (app.kubernetes.io/name "
                 "-> app_kubernetes_io_name); empty: none",
                 "app,app.kubernetes.io/name", list(s.include_labels));
  add_with_alias(flags, "cluster-name", "kpod.cluster-name", "A cluster=<name> label on every kpod_* series", "",
                 [&s](std::string_view v) -> Result<void> {
                   s.cluster = std::string(v);
                   return {};
                 });
}

void register_flags(FlagSet& flags, AgentOptions& o, FlagText& text) {
  flags.add_string("kubeconfig", "Path to a kubeconfig; else $KUBECONFIG, ~/.kube/config, in-cluster", o.kubeconfig);
  flags.add_string("context", "Kubeconfig context to use instead of current-context", o.context);
  flags.add_string("node-name", "Node this agent reports on (default $NODE_NAME)", o.node_name);
  flags.add_string("metrics-addr", "Address to serve metrics on", o.metrics_addr);
  flags.add_string("metrics-path", "HTTP path for metrics endpoint", o.metrics_path);
  flags.add_string("resources", "Comma-separated list of resources to track", text.resources);
  flags.add_bool("disable-node-metrics", "Disable per-node binpacking metrics", o.disable_node_metrics);
  flags.add_string("log-level", "Log level: debug, info, warn, error", o.log_level);
  flags.add_string("log-format", "Log format: json, text", o.log_format);
  flags.add_bool("debug", "KBE's --debug: the same as --log-level=debug (and wins over --log-level)", o.debug);
  flags.add("resync-period", "Full recount of node totals from the store (no API calls)", "30m",
            duration_setter(o.resync_period, false));
  flags.add_int("list-page-size", "Objects per page in consistent (re)lists (0 = no pagination)", o.list_page_size);
  flags.add_int("max-list-bytes", "Largest list page read from the API server; a larger one fails the list",
                o.max_list_bytes);
  flags.add_int("max-watch-event-bytes",
                "Largest watch event read from the API server; a larger one ends the watch and relists",
                o.max_watch_event_bytes);
  flags.add("resize-semantics",
            "In-place resize accounting: auto (the API server's version decides: max-of-sums from Kubernetes "
            "1.37, per-container before), per-container or max-of-sums (for clusters that backport the change)",
            "auto", [&o](std::string_view v) -> Result<void> {
              auto s = kube::parse_resize_setting(v);
              if (!s) {
                return s.error();
              }
              o.resize_semantics = *s;
              return {};
            });
  flags.add_string("host-root", "Where the host's / is mounted (for /sys, /proc, cgroups)", text.host_root);
  flags.add_string("kubelet-root", "Kubelet state directory", text.kubelet_root);
  // numainfo_exporter's short flags, for its users' command lines.
  flags.add_string("K", "Same as --kubelet-root (numainfo_exporter's -K)", text.kubelet_root);
  flags.add_string("N", "Same as --node-name (numainfo_exporter's -N)", o.node_name);
  flags.add_bool("M", "Print the NUMA metrics once on stderr and exit (numainfo_exporter's -M)", o.dump_numa);
  flags.add_bool("collectors.numa", "Per-NUMA capacity and kubelet allocation (numainfo_*)", o.collect_numa);
  flags.add_bool("collectors.bpf", "Per-pod kernel metrics from eBPF and cgroup files (kpod_*)", o.collect_bpf);
  add_with_alias(flags, "profile", "kpod.profile", "kpod collector profile: minimal, standard or comprehensive",
                 "standard", [&o](std::string_view v) -> Result<void> {
                   auto p = kpod::parse_profile(v);
                   if (!p) {
                     return p.error();
                   }
                   o.profile = *p;
                   return {};
                 });
  for (const auto& spec : kernel_collector_specs()) {
    const std::string& name = spec.name;
    flags.add("collector." + name, "Enable or disable the " + name + " collector (overrides --profile)", "",
              [&o, name](std::string_view v) -> Result<void> {
                if (v != "true" && v != "false") {
                  return fail("want true or false, got \"" + std::string(v) + "\"");
                }
                o.collector_overrides[name] = v == "true";
                return {};
              });
  }
  register_kpod_scope_flags(flags, o.kpod_scope);
  flags.add("kpod.topology.peer-granularity",
            "How the topology collector names a pod peer: workload (its controller), service (a Service whose "
            "endpoints list it, else its workload) or pod (its name)",
            "workload", [&o](std::string_view v) -> Result<void> {
              auto g = kpod::parse_peer_granularity(v);
              if (!g) {
                return g.error();
              }
              o.peer_granularity = *g;
              return {};
            });
  flags.add_int("kpod.topology.max-peers",
                "Distinct connection edges the topology collector keeps on this node; new ones beyond it are "
                "counted under peer_kind=\"overflow\"",
                o.topology_max_peers);
  flags.add("syscalls", "Comma-separated syscalls the syscall collector tracks (default: kpod-metrics' set)", "",
            [&o](std::string_view v) -> Result<void> {
              o.tracked_syscalls = split_list(v);
              return {};
            });
  flags.add("kpod.dns.timeout", "A DNS query a pod sent with no answer for this long counts as rcode \"timeout\"", "5s",
            duration_setter(o.dns_timeout, false));
  flags.add_int("kpod.dns.top-names",
                "Export the node's N most asked DNS names with their query counts (0: names are not recorded)",
                o.dns_top_names);
  flags.add("kpod.sched.variant",
            "sched collector's switch program: auto (sched_slots and sched_info measured side by side for about a "
            "second at start-up, the cheaper kept), sched_slots, sched_info or classic (wake-up programs)",
            "auto", [&o](std::string_view v) -> Result<void> {
              if (v != "auto" && v != "sched_slots" && v != "sched_info" && v != "classic") {
                return fail("want auto, sched_slots, sched_info or classic, got \"" + std::string(v) + "\"");
              }
              o.sched_variant = v;
              return {};
            });
  flags.add("kpod.bpf-stats",
            "When kernel BPF run-time statistics (nodepack_bpf_program_run_*) are on: sampled (for "
            "--kpod.bpf-stats.window at the start of every --kpod.bpf-stats.period), always, or off. While they "
            "are on, every BPF program on the node pays two clock reads per run",
            "sampled", [&o](std::string_view v) -> Result<void> {
              using Mode = BpfStatsPolicy::Mode;
              if (v != "sampled" && v != "always" && v != "off") {
                return fail("want sampled, always or off, got \"" + std::string(v) + "\"");
              }
              o.bpf_stats.mode = v == "sampled" ? Mode::sampled : v == "always" ? Mode::always : Mode::off;
              return {};
            });
  flags.add("kpod.bpf-stats.window", "How long sampled BPF run-time statistics stay on each period", "10s",
            duration_setter(o.bpf_stats.window, false));
  flags.add("kpod.bpf-stats.period", "How often sampled BPF run-time statistics are switched on", "5m",
            duration_setter(o.bpf_stats.period, false));
  flags.add_bool("collectors.accounting",
                 "Per-container usage accounting: requested, limited and used core- and byte-seconds, GPU-seconds "
                 "(nodepack_container_*)",
                 o.collect_accounting);
  flags.add_string("accounting.state-file",
                   "Where accounting counters are kept across restarts (e.g. a hostPath); empty: start from zero",
                   o.accounting_state_file);
  flags.add("accounting.sample-interval", "How often memory.current, the device checkpoint and NVML are sampled", "10s",
            duration_setter(o.accounting_sample_interval, false));
  flags.add("accounting.retention", "How long a finished or deleted container's accounting series stay exported", "5m",
            duration_setter(o.accounting_retention, true));
  flags.add("accounting.gpu-resources", "Device-plugin resources accounted as GPUs (comma-separated)",
            "nvidia.com/gpu,amd.com/gpu", [&o](std::string_view v) -> Result<void> {
              o.accounting_gpu_resources = split_list(v);
              return {};
            });
  flags.add_string("accounting.nvml-library", "NVML library loaded at run time for GPU memory per container",
                   o.accounting_nvml_library);
  flags.add_string("reserved-cpus", "The kubelet's --reserved-cpus (e.g. 0-1), so NUMA allocatable matches it",
                   o.reserved_cpus);
  flags.add("podresources-socket",
            "The kubelet's pod-resources API socket (default <kubelet-root>/pod-resources/kubelet.sock); empty: use "
            "the checkpoint files alone",
            "", [&text](std::string_view v) -> Result<void> {
              text.podresources_socket = std::string(v);
              return {};
            });
  flags.add("podresources-interval",
            "How often pod-resources is asked besides when pods or checkpoint files change (at least 1s: the "
            "kubelet rate-limits it)",
            "10s", duration_setter(o.podresources_interval, false));
  flags.add_bool("nrt.export",
                 "Keep this node's NodeResourceTopology object (topology.node.k8s.io/v1alpha2) current for "
                 "topology-aware scheduling (needs RBAC: deploy/overlays/node-resource-topology)",
                 o.nrt_export);
  flags.add("nrt.interval", "Write the NodeResourceTopology object at most this often (and again when it changed)",
            "10s", duration_setter(o.nrt_interval, false));
  flags.add_string("nrt.topology-manager-policy",
                   "The kubelet's topology manager policy for the object's attributes (default: read from "
                   "<kubelet-root>/config.yaml, else none)",
                   o.nrt_topology_manager_policy);
  flags.add_string(
      "nrt.topology-manager-scope",
      "The kubelet's topology manager scope (default: read from <kubelet-root>/config.yaml, else container)",
      o.nrt_topology_manager_scope);
  flags.add("auth.mode",
            "Who may read every endpoint but the probes: kubernetes (bearer tokens reviewed by the API server, "
            "access by RBAC on the path, as kube-rbac-proxy does) or none (labs)",
            "kubernetes", [&o](std::string_view v) -> Result<void> {
              if (v == "kubernetes") {
                o.auth_mode = AuthMode::kubernetes;
              } else if (v == "none") {
                o.auth_mode = AuthMode::none;
              } else {
                return fail("want kubernetes or none, got \"" + std::string(v) + "\"");
              }
              return {};
            });
  flags.add("unready-after", "Report not ready once a watch has failed continuously this long", "3m",
            duration_setter(o.unready_after, false));
}

}  // namespace

Result<AgentOptions> parse_agent_options(const std::vector<std::string>& args, const std::string& node_name_env) {
  AgentOptions o;
  o.node_name = node_name_env;
  FlagText text;
  FlagSet flags("nodepack agent");
  register_flags(flags, o, text);
  if (auto ok = flags.parse(args); !ok) {
    return ok.error();
  }
  if (flags.help_requested()) {
    o.help = true;
    return o;
  }
  auto resources = parse_resources_flag(text.resources);
  if (!resources) {
    return resources.error();
  }
  o.resources = std::move(*resources);
  o.paths = HostPaths::under(text.host_root);
  o.paths.kubelet_root = text.kubelet_root;
  o.podresources_socket = text.podresources_socket.value_or(
      (std::filesystem::path(text.kubelet_root) / podresources_socket_under_root).string());
  if (o.podresources_interval < min_podresources_interval) {
    return fail("--podresources-interval must be at least 1s: the kubelet rate-limits pod-resources for all clients");
  }
  if (o.node_name.empty()) {
    return fail("no node name: pass --node-name or set $NODE_NAME (the downward API's spec.nodeName)");
  }
  if (o.metrics_path.empty() || o.metrics_path.front() != '/') {
    return fail("--metrics-path must start with /");
  }
  if (o.max_list_bytes < 1024 || o.max_watch_event_bytes < 1024) {
    return fail("--max-list-bytes and --max-watch-event-bytes must be at least 1024");
  }
  if (o.debug) {
    o.log_level = "debug";
  }
  if (auto ok = validate_log_flags(o.log_level, o.log_format); !ok) {
    return ok.error();
  }
  if (o.bpf_stats.mode == BpfStatsPolicy::Mode::sampled && o.bpf_stats.window >= o.bpf_stats.period) {
    return fail("--kpod.bpf-stats.window must be shorter than --kpod.bpf-stats.period (or --kpod.bpf-stats=always)");
  }
  if (o.topology_max_peers < 1) {
    return fail("--kpod.topology.max-peers must be at least 1");
  }
  if (auto scope = kpod::PodScope::create(o.kpod_scope); !scope) {
    return fail("--kpod.*: " + scope.error().message);
  }
  return o;
}

std::string node_name_from_environment() {
  for (const char* name : {"NODE_NAME", "NUMAINFO_NODENAME"}) {
    if (const char* v = std::getenv(name); v != nullptr && *v != '\0') {
      return v;
    }
  }
  return "";
}

std::string agent_usage() {
  AgentOptions o;
  FlagText text;
  FlagSet flags("nodepack agent");
  register_flags(flags, o, text);
  return flags.usage();
}

}  // namespace nodepack::agent
