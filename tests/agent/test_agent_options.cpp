#include "agent/agent_options.hpp"

#include <catch2/catch.hpp>

using namespace nodepack::agent;

TEST_CASE("agent options: KBE defaults and $NODE_NAME") {
  auto o = parse_agent_options({}, "node-a");
  REQUIRE(o.has_value());
  CHECK(o->node_name == "node-a");
  CHECK(o->metrics_addr == ":9101");
  CHECK(o->metrics_path == "/metrics");
  CHECK(o->resources == std::vector<std::string>{"cpu", "memory"});
  CHECK(o->list_page_size == 500);
  CHECK(o->resync_period == std::chrono::minutes(30));
  CHECK(o->log_format == "json");
  CHECK(o->resize_semantics == nodepack::kube::ResizeSetting::automatic);
  // Bounds on what the API server may make the agent hold: well under the DaemonSet's 96 Mi.
  CHECK(o->max_list_bytes == 32 * 1024 * 1024);
  CHECK(o->max_watch_event_bytes == 16 * 1024 * 1024);
  CHECK(o->auth_mode == AuthMode::kubernetes);
}

TEST_CASE("agent options: every flag parsed") {
  auto o = parse_agent_options(
      {"--node-name=n2", "--resources", "cpu,memory,pods,nvidia.com/gpu,hugepages-2Mi", "--metrics-addr=127.0.0.1:0",
       "--metrics-path=/m", "--disable-node-metrics", "--log-level=debug", "--log-format=text", "--resync-period=1h30m",
       "--list-page-size=0", "--resize-semantics=max-of-sums", "--kubelet-root=/k", "--max-list-bytes=2048",
       "--max-watch-event-bytes=1024", "--auth.mode=none"},
      "ignored");
  REQUIRE(o.has_value());
  CHECK(o->node_name == "n2");
  CHECK(o->resources == std::vector<std::string>{"cpu", "memory", "pods", "nvidia.com/gpu", "hugepages-2Mi"});
  CHECK(o->metrics_path == "/m");
  CHECK(o->disable_node_metrics);
  CHECK(o->resync_period == std::chrono::minutes(90));
  CHECK(o->list_page_size == 0);
  CHECK(o->resize_semantics == nodepack::kube::ResizeSetting::max_of_sums);
  CHECK(o->paths.kubelet_root == "/k");
  CHECK(o->max_list_bytes == 2048);
  CHECK(o->max_watch_event_bytes == 1024);
  CHECK(o->auth_mode == AuthMode::none);
}

TEST_CASE("agent options: bad input is one clear line") {
  const std::pair<std::vector<std::string>, std::string> cases[] = {
      {{"--bogus"}, "unknown flag --bogus"},
      {{"--resync-period=soon"}, "invalid value for --resync-period: invalid duration \"soon\""},
      {{"--log-level=loud"}, "--log-level must be debug, info, warn or error, not \"loud\""},
      {{"--log-format=xml"}, "--log-format must be json or text, not \"xml\""},
      {{"--resources="}, "--resources must name at least one resource"},
      {{"--resources=cpu,me mory"}, "--resources: \"me mory\" is not a resource name"},
      {{"--metrics-path=metrics"}, "--metrics-path must start with /"},
      {{"--list-page-size=-1"}, "invalid value for --list-page-size: want a non-negative integer, got \"-1\""},
      {{"--resize-semantics=sum"}, "invalid value for --resize-semantics: "},
      {{"--max-list-bytes=1023"}, "--max-list-bytes and --max-watch-event-bytes must be at least 1024"},
      {{"--max-watch-event-bytes=0"}, "--max-list-bytes and --max-watch-event-bytes must be at least 1024"},
      {{"--max-list-bytes=lots"}, "invalid value for --max-list-bytes: "},
      {{"--kpod.topology.peer-granularity=node"}, "invalid value for --kpod.topology.peer-granularity: peer "},
      {{"--kpod.topology.max-peers=0"}, "--kpod.topology.max-peers must be at least 1"},
  };
  for (const auto& [args, message] : cases) {
    auto o = parse_agent_options(args, "n");
    INFO(message);
    REQUIRE_FALSE(o.has_value());
    CHECK(o.error().message.rfind(message, 0) == 0);
  }
  auto no_node = parse_agent_options({}, "");
  REQUIRE_FALSE(no_node.has_value());
  CHECK(no_node.error().message.find("no node name") == 0);
}

TEST_CASE("agent options: the topology collector's peer naming and edge cap") {
  auto defaults = parse_agent_options({}, "n");
  REQUIRE(defaults.has_value());
  CHECK(defaults->peer_granularity == nodepack::kpod::PeerGranularity::workload);
  CHECK(defaults->topology_max_peers == 1000);
  auto o = parse_agent_options({"--kpod.topology.peer-granularity=service", "--kpod.topology.max-peers=50"}, "n");
  REQUIRE(o.has_value());
  CHECK(o->peer_granularity == nodepack::kpod::PeerGranularity::service);
  CHECK(o->topology_max_peers == 50);
}

TEST_CASE("agent options: --debug is KBE's alias of --log-level=debug") {
  auto o = parse_agent_options({"--debug", "--log-level=error"}, "n1");
  REQUIRE(o.has_value());
  CHECK(o->log_level == "debug");
  auto off = parse_agent_options({"--debug=false"}, "n1");
  REQUIRE(off.has_value());
  CHECK(off->log_level == "info");
  CHECK(agent_usage().find("--debug") != std::string::npos);
}

TEST_CASE("agent options: --kpod.sched.variant") {
  CHECK(parse_agent_options({}, "n1")->sched_variant == "auto");  // measured at start-up
  for (const char* v : {"auto", "sched_slots", "sched_info", "classic"}) {
    auto o = parse_agent_options({std::string("--kpod.sched.variant=") + v}, "n1");
    REQUIRE(o.has_value());
    CHECK(o->sched_variant == v);
  }
  auto bad = parse_agent_options({"--kpod.sched.variant=tp_btf"}, "n1");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().message ==
        "invalid value for --kpod.sched.variant: want auto, sched_slots, sched_info or classic, got \"tp_btf\"");
}

TEST_CASE("agent options: --kpod.bpf-stats and its window") {
  using Mode = BpfStatsPolicy::Mode;
  auto defaults = parse_agent_options({}, "n1");
  REQUIRE(defaults.has_value());
  CHECK(defaults->bpf_stats.mode == Mode::sampled);  // every BPF program on the node pays while they are on
  CHECK(defaults->bpf_stats.window == std::chrono::seconds(10));
  CHECK(defaults->bpf_stats.period == std::chrono::minutes(5));

  auto tuned = parse_agent_options({"--kpod.bpf-stats.window=2s", "--kpod.bpf-stats.period=1m"}, "n1");
  REQUIRE(tuned.has_value());
  CHECK(tuned->bpf_stats.window == std::chrono::seconds(2));
  CHECK(tuned->bpf_stats.period == std::chrono::minutes(1));
  CHECK(parse_agent_options({"--kpod.bpf-stats=always"}, "n1")->bpf_stats.mode == Mode::always);
  CHECK(parse_agent_options({"--kpod.bpf-stats=off"}, "n1")->bpf_stats.mode == Mode::off);

  auto bad = parse_agent_options({"--kpod.bpf-stats=on"}, "n1");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().message == "invalid value for --kpod.bpf-stats: want sampled, always or off, got \"on\"");
  auto too_long = parse_agent_options({"--kpod.bpf-stats.window=5m"}, "n1");
  REQUIRE_FALSE(too_long.has_value());
  CHECK(too_long.error().message ==
        "--kpod.bpf-stats.window must be shorter than --kpod.bpf-stats.period (or --kpod.bpf-stats=always)");
  // A window as long as the period is what always means; no error when statistics are not sampled.
  CHECK(parse_agent_options({"--kpod.bpf-stats=always", "--kpod.bpf-stats.window=5m"}, "n1").has_value());
}

TEST_CASE("agent options: --kpod.dns.timeout and --kpod.dns.top-names") {
  auto defaults = parse_agent_options({}, "n1");
  REQUIRE(defaults.has_value());
  CHECK(defaults->dns_timeout == std::chrono::seconds(5));
  CHECK(defaults->dns_top_names == 0);  // names are not recorded unless asked for
  auto o = parse_agent_options({"--kpod.dns.timeout=750ms", "--kpod.dns.top-names=20"}, "n1");
  REQUIRE(o.has_value());
  CHECK(o->dns_timeout == std::chrono::milliseconds(750));
  CHECK(o->dns_top_names == 20);
  auto zero = parse_agent_options({"--kpod.dns.timeout=0s"}, "n1");
  REQUIRE_FALSE(zero.has_value());
  CHECK(zero.error().message == "invalid value for --kpod.dns.timeout: must be positive");
}
