// Flags of `nodepack aggregator`: KBE's defaults, agent targets, label groups and fit shapes, and
// one-line errors for bad values.

#include "aggregator/aggregator_options.hpp"

#include <catch2/catch.hpp>

using namespace nodepack;
using namespace nodepack::aggregator;

TEST_CASE("aggregator defaults match KBE and the issue") {
  auto o = parse_aggregator_options({});
  REQUIRE(o.has_value());
  CHECK(o->metrics_addr == ":9101");
  CHECK(o->metrics_path == "/metrics");
  CHECK(o->resources == std::vector<std::string>{"cpu", "memory"});
  CHECK(o->agent_namespace == "nodepack");
  CHECK(o->agent_selector == "app.kubernetes.io/name=nodepack-agent");
  CHECK(o->agent_port == 9101);
  CHECK(o->pull_concurrency == 32);
  CHECK(o->pull_timeout == std::chrono::seconds(5));
  CHECK(o->pull_interval == std::chrono::seconds(15));
  CHECK(o->stale_after == std::chrono::minutes(2));
  CHECK(o->max_report_bytes == 4 * 1024 * 1024);
  CHECK(o->resync_period == std::chrono::minutes(30));
  CHECK(o->list_page_size == 500);
  CHECK(o->pending_pods);
  CHECK_FALSE(o->static_agents());
  // Bounds on what the API server may make the aggregator hold: well under the Deployment's 256 Mi.
  CHECK(o->max_list_bytes == 64 * 1024 * 1024);
  CHECK(o->max_watch_event_bytes == 16 * 1024 * 1024);
}

TEST_CASE("--agents takes node=host:port/prefix lists, comma-separated or repeated") {
  auto o = parse_aggregator_options(
      {"--agents=n1=127.0.0.1:9101,10.0.0.2:80/nodes/n2/", "--agents", "[fd00::1]:9101", "--agent-port=8080"});
  REQUIRE(o.has_value());
  REQUIRE(o->agents.size() == 3);
  CHECK(o->agents[0].node == "n1");
  CHECK(o->agents[0].host == "127.0.0.1");
  CHECK(o->agents[0].port == "9101");
  CHECK(o->agents[0].report_path() == "/report");
  CHECK(o->agents[1].node.empty());
  CHECK(o->agents[1].report_path() == "/nodes/n2/report");
  CHECK(o->agents[2].host == "fd00::1");
  CHECK(o->agent_port == 8080);
  CHECK(o->static_agents());

  for (const char* bad : {"--agents=n1", "--agents=host:0", "--agents==h:1", "--agents=h:99999", "--agents=[::1:80"}) {
    INFO(bad);
    CHECK_FALSE(parse_aggregator_options({bad}).has_value());
  }
}

TEST_CASE("--label-group is repeatable and names the group by its keys") {
  auto o = parse_aggregator_options({"--label-group=topology.kubernetes.io/zone,node.kubernetes.io/instance-type",
                                     "--label-group", "topology.kubernetes.io/zone"});
  REQUIRE(o.has_value());
  REQUIRE(o->label_groups.size() == 2);
  CHECK(o->label_groups[0].name == "topology.kubernetes.io/zone,node.kubernetes.io/instance-type");
  CHECK(o->label_groups[0].keys.size() == 2);
  CHECK(o->label_groups[1].name == "topology.kubernetes.io/zone");
  CHECK_FALSE(parse_aggregator_options({"--label-group=,"}).has_value());
}

TEST_CASE("--fit-shape parses exact quantities and refuses nonsense") {
  auto o = parse_aggregator_options({"--fit-shape=small=cpu:500m,memory:1Gi", "--fit-shape=gpu=nvidia.com/gpu:1"});
  REQUIRE(o.has_value());
  REQUIRE(o->fit_shapes.size() == 2);
  CHECK(o->fit_shapes[0].name == "small");
  CHECK(o->fit_shapes[0].requests.at("cpu") == kube::Quantity::from_milli(500));
  CHECK(o->fit_shapes[0].requests.at("memory") == kube::Quantity::from_units(1073741824));
  CHECK(o->fit_shapes[1].requests.at("nvidia.com/gpu") == kube::Quantity::from_units(1));
  for (const char* bad :
       {"--fit-shape=small", "--fit-shape==cpu:1", "--fit-shape=x=cpu", "--fit-shape=x=cpu:0", "--fit-shape=x=cpu:-1",
        "--fit-shape=x=cpu:abc", "--fit-shape=x=pods:1", "--fit-shape=x=cpu:1,cpu:2"}) {
    INFO(bad);
    CHECK_FALSE(parse_aggregator_options({bad}).has_value());
  }
  CHECK_FALSE(parse_aggregator_options({"--fit-shape=a=cpu:1", "--fit-shape=a=cpu:2"}).has_value());
}

TEST_CASE("bad aggregator flags fail with a reason") {
  for (const char* bad : {"--pull-interval=0s", "--pull-timeout=abc", "--stale-after=-1m", "--pull-concurrency=0",
                          "--resources=", "--resources=cpu,bad name", "--metrics-path=metrics", "--log-level=loud",
                          "--agent-port=0", "--unknown", "--max-list-bytes=100", "--max-watch-event-bytes=x"}) {
    INFO(bad);
    auto o = parse_aggregator_options({bad});
    REQUIRE_FALSE(o.has_value());
    CHECK_FALSE(o.error().message.empty());
  }
  auto help = parse_aggregator_options({"--help"});
  REQUIRE(help.has_value());
  CHECK(help->help);
  CHECK(aggregator_usage().find("--fit-shape") != std::string::npos);
}
