#include "aggregator/aggregator_options.hpp"

#include "common/duration.hpp"
#include "common/flags.hpp"
#include "common/logging.hpp"

#include <charconv>

namespace nodepack::aggregator {
namespace {

bool valid_port(std::string_view port) {
  int value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  return !port.empty() && ec == std::errc() && end == port.data() + port.size() && value > 0 && value < 65536;
}

void register_flags(FlagSet& flags, AggregatorOptions& o, std::string& resources_text,
                    std::vector<std::string>& label_groups, std::vector<std::string>& agents,
                    std::vector<std::string>& shapes) {
  flags.add_string("kubeconfig", "Path to a kubeconfig; else $KUBECONFIG, ~/.kube/config, in-cluster", o.kubeconfig);
  flags.add_string("context", "Kubeconfig context to use instead of current-context", o.context);
  flags.add_string("metrics-addr", "Address to serve metrics on", o.metrics_addr);
  flags.add_string("metrics-path", "HTTP path for metrics endpoint", o.metrics_path);
  flags.add_string("resources", "Comma-separated list of resources to track", resources_text);
  flags.add_list("label-group",
                 "Repeatable. Comma-separated label keys defining one combination group (e.g. "
                 "--label-group=zone,instance-type --label-group=zone)",
                 label_groups);
  flags.add_string("node-selector", "Label selector (set-based) for the nodes tracked, applied by the API server",
                   o.node_selector);
  flags.add_bool("disable-node-metrics", "Disable per-node metrics (only cluster-wide and label-group metrics)",
                 o.disable_node_metrics);
  flags.add_string("log-level", "Log level: debug, info, warn, error", o.log_level);
  flags.add_string("log-format", "Log format: json, text", o.log_format);
  flags.add_bool("debug", "KBE's --debug: the same as --log-level=debug (and wins over --log-level)", o.debug);
  flags.add("resync-period", "Full rebuild of the snapshot from the stored state (no API calls)", "30m",
            duration_setter(o.resync_period, false));
  flags.add_int("list-page-size", "Objects per page in consistent (re)lists (0 = no pagination)", o.list_page_size);
  flags.add_int("max-list-bytes", "Largest list page read from the API server; a larger one fails the list",
                o.max_list_bytes);
  flags.add_int("max-watch-event-bytes",
                "Largest watch event read from the API server; a larger one ends the watch and relists",
                o.max_watch_event_bytes);
  flags.add_string("agent-namespace", "Namespace of the agent DaemonSet's pods", o.agent_namespace);
  flags.add_string("agent-selector", "Label selector of the agent DaemonSet's pods", o.agent_selector);
  flags.add_int("agent-port", "Port of the agents' /report (a container port named \"metrics\" on the agent pod wins)",
                o.agent_port);
  flags.add_list("agents",
                 "Static agents instead of discovery, comma-separated or repeated: [node=]host:port[/path/prefix]; "
                 "the report is read from http://host:port/path/prefix/report",
                 agents);
  flags.add_int("pull-concurrency", "Reports pulled at once", o.pull_concurrency);
  flags.add_int("pull-idle-connections",
                "Agent connections kept open between pull rounds (at most what the descriptor limit allows); other "
                "pulls connect each time and the agent closes",
                o.pull_idle_connections);
  flags.add("pull-timeout", "Time limit for one report pull (connect, send, read)", "5s",
            duration_setter(o.pull_timeout, false));
  flags.add("pull-interval", "Time between pull rounds", "15s", duration_setter(o.pull_interval, false));
  flags.add("pull-spread",
            "Fraction of --pull-interval over which a round's pulls start, evenly, each agent at a fixed place "
            "(0: all at once; the first round always is)",
            "0.5", [&o](std::string_view v) -> Result<void> {
              double value = 0;
              const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), value);
              if (ec != std::errc() || end != v.data() + v.size() || !(value >= 0 && value <= 0.9)) {
                return fail("--pull-spread must be a number from 0 to 0.9, got \"" + std::string(v) + "\"");
              }
              o.pull_spread = value;
              return {};
            });
  flags.add("stale-after", "A report older than this (by its built_at, or since it was last pulled) no longer counts",
            "2m", duration_setter(o.stale_after, false));
  flags.add_int("max-report-bytes", "Reports larger than this are rejected as invalid", o.max_report_bytes);
  flags.add_list("fit-shape",
                 "Repeatable. A pod shape name=resource:quantity,... (e.g. small=cpu:500m,memory:1Gi); exports how "
                 "many more such pods fit and the capacity stranded where none fits",
                 shapes);
  flags.add("node-source",
            "Where node figures come from: agents (their reports), api (the aggregator's own cluster-wide pod watch, "
            "no agents needed), auto (a node's fresh agent report, else the aggregator's own figures)",
            "auto", [&o](std::string_view v) -> Result<void> {
              auto parsed = parse_node_source(v);
              if (!parsed) {
                return parsed.error();
              }
              o.node_source = *parsed;
              return {};
            });
  flags.add_bool("leader-election",
                 "Elect one exporting replica through a coordination.k8s.io/v1 Lease (KBE's flag); followers serve "
                 "the web UI, usage API and /sync but not the cluster series",
                 o.leader_election);
  flags.add("leader-election-lease-duration", "How long a Lease holder's record is honoured without a renewal", "15s",
            duration_setter(o.leader_election_lease_duration, false));
  flags.add("leader-election-renew-deadline",
            "The leader steps down when it has not renewed for this long (less than the lease duration)", "10s",
            duration_setter(o.leader_election_renew_deadline, false));
  flags.add("leader-election-retry-period", "Time between attempts to acquire or renew the Lease", "2s",
            duration_setter(o.leader_election_retry_period, false));
  flags.add_string("leader-election-namespace",
                   "Namespace of the Lease (default: the pod's own, from $POD_NAMESPACE or the service account)",
                   o.leader_election_namespace);
  flags.add_string("leader-election-name", "Name of the Lease", o.leader_election_name);
  flags.add_bool("pending-pods", "Watch unscheduled Pending pods and export their demand", o.pending_pods);
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
  flags.add("unready-after", "Report not ready once a watch has failed continuously this long", "3m",
            duration_setter(o.unready_after, false));
  flags.add_string("prometheus-url",
                   "Prometheus to answer the usage API (/api/<metric>, /api/v1/accounting) from, e.g. "
                   "http://prometheus:9090; unset: the API answers 503",
                   o.prometheus_url);
  flags.add("prometheus-timeout", "Time limit for one Prometheus query", "30s",
            duration_setter(o.prometheus_timeout, false));
  flags.add_int("prometheus-max-bytes", "Prometheus answers larger than this are refused (502)",
                o.prometheus_max_bytes);
  flags.add_string("prometheus-ca-file",
                   "CA certificate(s), PEM, to verify an https --prometheus-url with instead of the system's",
                   o.prometheus_ca_file);
  flags.add_string("prometheus-bearer-token-file",
                   "File with a bearer token sent to Prometheus with every query (re-read when it changes)",
                   o.prometheus_bearer_token_file);
  flags.add("api.max-range", "Longest time range the usage API accepts (400 days)", "9600h",
            duration_setter(o.api_max_range, false));
  flags.add("api.billing-step", "Step at which /api/v1/accounting takes the larger of used and requested per container",
            "5m", duration_setter(o.api_billing_step, false));
  flags.add_string("auth.users-file",
                   "Users of the API and web UI, name:crypt-hash[:namespace,...] per line (re-read when it changes)",
                   o.auth_users_file);
  flags.add_string("auth.tokens-file", "Bearer tokens, name:sha256:<hex>[:namespace,...] per line", o.auth_tokens_file);
  flags.add_bool("auth.anonymous",
                 "Let anyone use the usage API and web UI without credentials (when neither --auth file is given)",
                 o.auth_anonymous);
  flags.add("auth.session-lifetime", "How long a web login lasts", "12h",
            duration_setter(o.auth_session_lifetime, false));
  flags.add_int("auth.max-failures",
                "Failed logins allowed per address and per user name in --auth.failure-window "
                "(0: no limit)",
                o.auth_max_failures);
  flags.add("auth.failure-window", "Sliding window of --auth.max-failures", "1m",
            duration_setter(o.auth_failure_window, false));
  flags.add("auth.secure-cookie",
            "Mark the web session cookie Secure: auto (when serving --tls-cert), true (behind a TLS-terminating "
            "proxy), false",
            "auto", [&o](std::string_view v) -> Result<void> {
              auto parsed = parse_secure_cookie(v);
              if (!parsed) {
                return parsed.error();
              }
              o.auth_secure_cookie = *parsed;
              return {};
            });
  flags.add_int("auth.hash-threads", "Threads that check passwords, off the serving thread (1-16)",
                o.auth_hash_threads);
  flags.add_int("auth.hash-queue",
                "Password checks waiting for a thread at most; beyond, logins get 503 with Retry-After",
                o.auth_hash_queue);
  flags.add_string("tls-cert", "PEM certificate (chain) to serve HTTPS with; needs --tls-key", o.tls_cert);
  flags.add_string("tls-key", "PEM private key of --tls-cert", o.tls_key);
  flags.add_string("tls-client-ca", "PEM CA; when set, clients must present a certificate it signed", o.tls_client_ca);
}

}  // namespace

Result<NodeSource> parse_node_source(std::string_view text) {
  if (text == "agents") {
    return NodeSource::agents;
  }
  if (text == "api") {
    return NodeSource::api;
  }
  if (text == "auto") {
    return NodeSource::automatic;
  }
  return fail("--node-source must be agents, api or auto, not \"" + std::string(text) + "\"");
}

std::string_view node_source_name(NodeSource source) {
  switch (source) {
    case NodeSource::agents:
      return "agents";
    case NodeSource::api:
      return "api";
    default:
      return "auto";
  }
}

Result<SecureCookie> parse_secure_cookie(std::string_view text) {
  if (text == "auto") {
    return SecureCookie::automatic;
  }
  if (text == "true") {
    return SecureCookie::always;
  }
  if (text == "false") {
    return SecureCookie::never;
  }
  return fail("--auth.secure-cookie must be auto, true or false, not \"" + std::string(text) + "\"");
}

Result<AgentTarget> parse_agent_target(std::string_view text) {
  AgentTarget target;
  const std::string original(text);
  if (const auto eq = text.find('='); eq != std::string_view::npos) {
    target.node = std::string(text.substr(0, eq));
    text.remove_prefix(eq + 1);
    if (target.node.empty()) {
      return fail("--agents: \"" + original + "\" has an empty node name before '='");
    }
  }
  if (const auto slash = text.find('/'); slash != std::string_view::npos) {
    target.path_prefix = std::string(text.substr(slash));
    text = text.substr(0, slash);
    while (!target.path_prefix.empty() && target.path_prefix.back() == '/') {
      target.path_prefix.pop_back();
    }
  }
  std::string_view port;
  if (text.starts_with("[")) {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return fail("--agents: \"" + original + "\" must be [ipv6]:port");
    }
    target.host = std::string(text.substr(1, close - 1));
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return fail("--agents: \"" + original + "\" has no port (want [node=]host:port[/path])");
    }
    target.host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
  }
  if (target.host.empty() || !valid_port(port)) {
    return fail("--agents: \"" + original + "\" is not [node=]host:port[/path]");
  }
  target.port = std::string(port);
  return target;
}

Result<LabelGroup> parse_label_group(std::string_view text) {
  LabelGroup group;
  group.keys = split_list(text);
  if (group.keys.empty()) {
    return fail("--label-group: \"" + std::string(text) + "\" names no label key");
  }
  for (auto& key : group.keys) {
    while (!key.empty() && key.front() == ' ') {
      key.erase(key.begin());
    }
    while (!key.empty() && key.back() == ' ') {
      key.pop_back();
    }
    if (key.empty()) {
      return fail("--label-group: \"" + std::string(text) + "\" has an empty key");
    }
    group.name += (group.name.empty() ? "" : ",") + key;
  }
  return group;
}

Result<FitShape> parse_fit_shape(std::string_view text) {
  const std::string original(text);
  const auto eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return fail("--fit-shape: \"" + original + "\" is not name=resource:quantity,...");
  }
  FitShape shape;
  shape.name = std::string(text.substr(0, eq));
  for (const auto& item : split_list(text.substr(eq + 1))) {
    const auto colon = item.find(':');
    if (colon == std::string::npos) {
      return fail("--fit-shape " + shape.name + ": \"" + item + "\" is not resource:quantity");
    }
    const std::string resource = item.substr(0, colon);
    if (!valid_resource_name(resource)) {
      return fail("--fit-shape " + shape.name + ": \"" + resource + "\" is not a resource name");
    }
    if (resource == "pods") {
      return fail("--fit-shape " + shape.name + ": pods is implied (each pod takes one) and cannot be given");
    }
    auto quantity = kube::Quantity::parse(item.substr(colon + 1));
    if (!quantity) {
      return fail("--fit-shape " + shape.name + ": " + resource + ": " + quantity.error().message);
    }
    if (*quantity <= kube::Quantity()) {
      return fail("--fit-shape " + shape.name + ": " + resource + " must be positive");
    }
    if (!shape.requests.emplace(resource, *quantity).second) {
      return fail("--fit-shape " + shape.name + ": " + resource + " given twice");
    }
  }
  if (shape.requests.empty()) {
    return fail("--fit-shape " + shape.name + ": no resources");
  }
  return shape;
}

Result<AggregatorOptions> parse_aggregator_options(const std::vector<std::string>& args) {
  AggregatorOptions o;
  std::string resources_text = "cpu,memory";
  std::vector<std::string> label_groups;
  std::vector<std::string> agents;
  std::vector<std::string> shapes;
  FlagSet flags("nodepack aggregator");
  register_flags(flags, o, resources_text, label_groups, agents, shapes);
  if (auto ok = flags.parse(args); !ok) {
    return ok.error();
  }
  if (flags.help_requested()) {
    o.help = true;
    return o;
  }
  auto resources = parse_resources_flag(resources_text);
  if (!resources) {
    return resources.error();
  }
  o.resources = std::move(*resources);
  for (const auto& text : label_groups) {
    auto group = parse_label_group(text);
    if (!group) {
      return group.error();
    }
    o.label_groups.push_back(std::move(*group));
  }
  for (const auto& text : agents) {
    for (const auto& item : split_list(text)) {
      auto target = parse_agent_target(item);
      if (!target) {
        return target.error();
      }
      o.agents.push_back(std::move(*target));
    }
  }
  for (const auto& text : shapes) {
    auto shape = parse_fit_shape(text);
    if (!shape) {
      return shape.error();
    }
    for (const auto& existing : o.fit_shapes) {
      if (existing.name == shape->name) {
        return fail("--fit-shape " + shape->name + " given twice");
      }
    }
    o.fit_shapes.push_back(std::move(*shape));
  }
  if (o.agent_port <= 0 || o.agent_port > 65535) {
    return fail("--agent-port must be 1-65535");
  }
  if (o.node_source == NodeSource::api && o.static_agents()) {
    return fail("--agents reads agents' reports, which --node-source=api does not use (want agents or auto)");
  }
  if (o.leader_election_renew_deadline >= o.leader_election_lease_duration) {
    return fail(
        "--leader-election-renew-deadline must be shorter than --leader-election-lease-duration (a leader "
        "steps down before its Lease may be taken)");
  }
  // client-go's rule: renew deadline > 1.2 x retry period (the jitter), so a renewal can be tried.
  if (o.leader_election_renew_deadline * 5 <= o.leader_election_retry_period * 6) {
    return fail("--leader-election-renew-deadline must be more than 1.2 x --leader-election-retry-period");
  }
  if (o.leader_election_lease_duration < std::chrono::seconds(1)) {
    return fail("--leader-election-lease-duration must be at least 1s (the Lease holds whole seconds)");
  }
  if (o.pull_concurrency < 1) {
    return fail("--pull-concurrency must be at least 1");
  }
  if (o.pull_idle_connections < 0) {
    return fail("--pull-idle-connections must not be negative");
  }
  if (o.max_report_bytes < 1024) {
    return fail("--max-report-bytes must be at least 1024");
  }
  if (o.max_list_bytes < 1024 || o.max_watch_event_bytes < 1024) {
    return fail("--max-list-bytes and --max-watch-event-bytes must be at least 1024");
  }
  if (o.metrics_path.empty() || o.metrics_path.front() != '/') {
    return fail("--metrics-path must start with /");
  }
  if (o.static_agents() == false && o.agent_namespace.empty()) {
    return fail("--agent-namespace must not be empty");
  }
  if (o.prometheus_max_bytes < 1024) {
    return fail("--prometheus-max-bytes must be at least 1024");
  }
  if (o.api_billing_step < std::chrono::seconds(1) || o.api_max_range < std::chrono::seconds(1)) {
    return fail("--api.billing-step and --api.max-range must be at least 1s");
  }
  if (o.auth_max_failures < 0) {
    return fail("--auth.max-failures must not be negative");
  }
  if (o.auth_hash_threads < 1 || o.auth_hash_threads > 16) {
    return fail("--auth.hash-threads must be 1-16");
  }
  if (o.auth_hash_queue < 0 || o.auth_hash_queue > 10'000) {
    return fail("--auth.hash-queue must be 0-10000");
  }
  if (o.tls_cert.empty() != o.tls_key.empty()) {
    return fail("--tls-cert and --tls-key go together");
  }
  if (!o.tls_client_ca.empty() && o.tls_cert.empty()) {
    return fail("--tls-client-ca needs --tls-cert and --tls-key");
  }
  if (o.debug) {
    o.log_level = "debug";
  }
  if (auto ok = validate_log_flags(o.log_level, o.log_format); !ok) {
    return ok.error();
  }
  return o;
}

std::string aggregator_usage() {
  AggregatorOptions o;
  std::string resources_text = "cpu,memory";
  std::vector<std::string> label_groups;
  std::vector<std::string> agents;
  std::vector<std::string> shapes;
  FlagSet flags("nodepack aggregator");
  register_flags(flags, o, resources_text, label_groups, agents, shapes);
  return flags.usage();
}

}  // namespace nodepack::aggregator
