// The agent against the fake API server: values on /metrics after every kind of change, through
// watch disconnects, 410 Gone and relists, API errors and malformed objects; and no API calls
// from scraping.

#include "agent/agent.hpp"
#include "sim/fake_api_server.hpp"
#include "tests/sim/test_client.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/metrics_text.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <thread>

using namespace nodepack;
using nodepack::sim::Kind;
using nodepack::sim::test::http_get;
using nodepack::sim::test::http_send;
using nodepack::testing::eventually;
using nodepack::testing::metric;
using nodepack::testing::parse_metrics;
namespace json = boost::json;

namespace {

json::object node_json(const std::string& name, const std::string& cpu, const std::string& memory) {
  return json::parse(R"({"metadata":{"name":")" + name + R"(","labels":{"topology.kubernetes.io/zone":"zone-a"}},
    "status":{"allocatable":{"cpu":")" +
                     cpu + R"(","memory":")" + memory + R"(","pods":"110","nvidia.com/gpu":"2"}}})")
      .as_object();
}

struct PodSpec {
  std::string name;
  std::string cpu = "100m";
  std::string memory = "64Mi";
  std::string phase = "Running";
  std::string node = "n1";
  bool daemonset = false;
  std::string init_cpu;  // a regular init container with this cpu request, when set
  std::string gpu;
};

json::object pod_json(const PodSpec& p) {
  json::object requests{{"cpu", p.cpu}, {"memory", p.memory}};
  if (!p.gpu.empty()) {
    requests["nvidia.com/gpu"] = p.gpu;
  }
  json::object pod{
      {"metadata",
       {{"name", p.name},
        {"namespace", "default"},
        {"uid", "uid-" + p.name},
        {"ownerReferences", json::array{{{"kind", p.daemonset ? "DaemonSet" : "ReplicaSet"}, {"name", "owner"}}}}}},
      {"spec",
       {{"nodeName", p.node}, {"containers", json::array{{{"name", "app"}, {"resources", {{"requests", requests}}}}}}}},
      {"status", {{"phase", p.phase}}}};
  if (!p.init_cpu.empty()) {
    pod["spec"].as_object()["initContainers"] =
        json::array{{{"name", "init"}, {"resources", {{"requests", {{"cpu", p.init_cpu}}}}}}};
  }
  return pod;
}

sim::FakeApiOptions api_options() {
  sim::FakeApiOptions o{"secret", 1000, std::chrono::milliseconds(60'000), 1, {}};
  // Callers of the agent, as a cluster would have them: Prometheus may read /metrics, the
  // aggregator /report and /sync, a stranger nothing.
  o.identities = {{"prom-token", "system:serviceaccount:monitoring:prometheus", {"system:authenticated"}},
                  {"agg-token", "system:serviceaccount:nodepack:nodepack-aggregator", {"system:authenticated"}},
                  {"stranger-token", "stranger", {"system:authenticated"}}};
  o.rules = {{"system:serviceaccount:monitoring:prometheus", "", {"get"}, {"/metrics"}, {}},
             {"system:serviceaccount:nodepack:nodepack-aggregator", "", {"get"}, {"/report", "/sync"}, {}}};
  return o;
}

struct Harness {
  sim::FakeApiServer api{api_options()};
  ManualClock clock;
  std::unique_ptr<agent::Agent> agent;

  Harness() {
    REQUIRE(api.start().has_value());
    REQUIRE(api.upsert(Kind::node, node_json("n1", "3920m", "15Gi")).has_value());
    REQUIRE(api.upsert(Kind::node, node_json("n2", "8", "32Gi")).has_value());
  }

  void start_agent(std::vector<std::string> flags = {}) {
    // Kernel collectors are covered by tests/bpf; here they would only attach system-wide.
    // Endpoint auth is on by default; the tests that are not about it turn it off.
    std::vector<std::string> args{"--node-name=n1", "--metrics-addr=127.0.0.1:0", "--collectors.bpf=false",
                                  "--resources=cpu,memory,pods,nvidia.com/gpu"};
    if (std::find_if(flags.begin(), flags.end(), [](const std::string& f) { return f.starts_with("--auth.mode"); }) ==
        flags.end()) {
      args.push_back("--auth.mode=none");
    }
    args.insert(args.end(), flags.begin(), flags.end());
    auto options = agent::parse_agent_options(args, "");
    REQUIRE(options.has_value());
    kube::ClusterConfig cluster;
    cluster.server = api.url();
    cluster.token = "secret";
    agent::AgentTuning tuning;
    tuning.initial_backoff = std::chrono::milliseconds(10);
    tuning.max_backoff = std::chrono::milliseconds(100);
    tuning.min_watch_timeout = std::chrono::seconds(3600);
    agent = std::make_unique<agent::Agent>(std::move(*options), cluster, clock, tuning);
    REQUIRE(agent->start().has_value());
  }

  std::uint16_t port() const { return agent->endpoint().port(); }
  std::map<std::string, double> scrape() const { return parse_metrics(http_get(port(), "/metrics").body); }
  std::optional<double> value(const std::string& series) const { return metric(scrape(), series); }
  bool value_is(const std::string& series, double expected) const {
    const auto v = value(series);
    return v && std::abs(*v - expected) < 1e-9;
  }
  bool ready() const { return http_get(port(), "/readyz").status == 200; }
};

const std::string cpu_allocated = R"(kube_binpacking_node_allocated{node="n1",resource="cpu"})";
const std::string mem_allocated = R"(kube_binpacking_node_allocated{node="n1",resource="memory"})";
const std::string pods_allocated = R"(kube_binpacking_node_allocated{node="n1",resource="pods"})";
const std::string gpu_allocated = R"(kube_binpacking_node_allocated{node="n1",resource="nvidia.com/gpu"})";
const std::string cpu_ds = R"(kube_binpacking_node_daemonset_overhead{node="n1",resource="cpu"})";

}  // namespace

// [not-emulated]: qemu-user answers /proc/self/stat itself, with zero for the resident set and
// CPU times, so under emulation this would test qemu, not the agent.
TEST_CASE("agent reports its own resident memory", "[not-emulated]") {
  Harness h;
  h.start_agent();
  REQUIRE(eventually([&] { return h.ready(); }));
  const auto m = h.scrape();
  REQUIRE(metric(m, "process_resident_memory_bytes"));
  CHECK(*metric(m, "process_resident_memory_bytes") > 1e6);
}

TEST_CASE("agent follows adds, resizes, phase changes and deletes with exact values") {
  Harness h;
  h.api.upsert(Kind::pod, pod_json({.name = "web", .cpu = "250m", .memory = "128Mi"}));
  h.api.upsert(Kind::pod, pod_json({.name = "ds", .cpu = "100m", .memory = "50M", .daemonset = true}));
  // Init container (1500m) dominates the app container (0.5): the pod counts 1500m.
  h.api.upsert(Kind::pod, pod_json({.name = "batch", .cpu = "0.5", .memory = "1Gi", .init_cpu = "1500m"}));
  h.api.upsert(Kind::pod, pod_json({.name = "elsewhere", .cpu = "4", .node = "n2"}));
  h.api.upsert(Kind::pod, pod_json({.name = "done", .cpu = "2", .phase = "Succeeded"}));
  h.start_agent();

  REQUIRE(eventually([&] { return h.ready(); }));
  auto m = h.scrape();
  // cpu: 250m + 100m + 1500m = 1850m -> 1.85 cores; "elsewhere" is on n2, "done" has Succeeded.
  CHECK(*metric(m, cpu_allocated) == Approx(1.85).epsilon(0));
  // memory: 128Mi + 50e6 + 1Gi = 134217728 + 50000000 + 1073741824 = 1257959552 bytes.
  CHECK(*metric(m, mem_allocated) == 1257959552.0);
  CHECK(*metric(m, pods_allocated) == 3);
  CHECK(*metric(m, gpu_allocated) == 0);
  CHECK(*metric(m, R"(kube_binpacking_node_allocatable{node="n1",resource="cpu"})") == Approx(3.92).epsilon(0));
  CHECK(*metric(m, R"(kube_binpacking_node_allocatable{node="n1",resource="memory"})") == 16106127360.0);
  CHECK(*metric(m, R"(kube_binpacking_node_allocatable{node="n1",resource="pods"})") == 110);
  CHECK(*metric(m, R"(kube_binpacking_node_utilization_ratio{node="n1",resource="cpu"})") ==
        Approx(1.85 / 3.92).epsilon(1e-12));
  CHECK(*metric(m, R"(kube_binpacking_node_utilization_ratio{node="n1",resource="pods"})") ==
        Approx(3.0 / 110).epsilon(1e-12));
  CHECK(*metric(m, cpu_ds) == Approx(0.1).epsilon(0));
  CHECK(*metric(m, R"(kube_binpacking_node_daemonset_overhead{node="n1",resource="memory"})") == 50e6);
  CHECK(*metric(m, R"(kube_binpacking_node_daemonset_overhead_ratio{node="n1",resource="cpu"})") ==
        Approx(0.1 / 3.92).epsilon(1e-12));
  CHECK(*metric(m, R"(kube_binpacking_node_daemonset_overhead{node="n1",resource="pods"})") == 1);
  CHECK_FALSE(metric(m, R"(kube_binpacking_node_allocated{node="n2",resource="cpu"})"));
  const auto build_info = std::find_if(m.begin(), m.end(), [](const auto& kv) {
    return kv.first.rfind(R"(nodepack_build_info{version="0.1.0",revision=")", 0) == 0;
  });
  REQUIRE(build_info != m.end());
  CHECK(build_info->second == 1);
  CHECK(m.count("process_resident_memory_bytes") == 1);

  SECTION("add a pod with a GPU") {
    h.api.upsert(Kind::pod, pod_json({.name = "train", .cpu = "1", .memory = "2Gi", .gpu = "1"}));
    CHECK(eventually([&] { return h.value_is(gpu_allocated, 1) && h.value_is(cpu_allocated, 2.85); }));
    CHECK(h.value_is(pods_allocated, 4));
  }
  SECTION("in-place resize of a running pod") {
    auto resized = pod_json({.name = "web", .cpu = "250m", .memory = "128Mi"});
    // The kubelet has allocated 750m; status wins over the smaller spec.
    resized["status"].as_object()["containerStatuses"] = json::array{
        {{"name", "app"}, {"allocatedResources", {{"cpu", "750m"}}}, {"resources", {{"requests", {{"cpu", "750m"}}}}}}};
    h.api.upsert(Kind::pod, resized);
    CHECK(eventually([&] { return h.value_is(cpu_allocated, 2.35); }));
  }
  SECTION("phase change to Succeeded removes the pod's requests") {
    h.api.upsert(Kind::pod,
                 pod_json({.name = "batch", .cpu = "0.5", .memory = "1Gi", .phase = "Succeeded", .init_cpu = "1500m"}));
    CHECK(eventually([&] { return h.value_is(cpu_allocated, 0.35); }));
    CHECK(h.value_is(mem_allocated, 134217728.0 + 50e6));
    CHECK(h.value_is(pods_allocated, 2));
  }
  SECTION("delete a DaemonSet pod") {
    h.api.remove(Kind::pod, "default", "ds");
    CHECK(eventually([&] { return h.value_is(cpu_ds, 0) && h.value_is(cpu_allocated, 1.75); }));
  }
  SECTION("a pod rescheduled off this node leaves it") {
    h.api.upsert(Kind::pod, pod_json({.name = "web", .cpu = "250m", .memory = "128Mi", .node = "n2"}));
    CHECK(eventually([&] { return h.value_is(cpu_allocated, 1.6); }));
  }
  SECTION("node allocatable changes and node deletion") {
    h.api.upsert(Kind::node, node_json("n1", "7910m", "15Gi"));
    CHECK(
        eventually([&] { return h.value_is(R"(kube_binpacking_node_allocatable{node="n1",resource="cpu"})", 7.91); }));
    h.api.remove(Kind::node, "", "n1");
    CHECK(eventually([&] { return !h.value(cpu_allocated).has_value(); }));
  }
}

TEST_CASE("scraping makes no API calls") {
  Harness h;
  h.api.upsert(Kind::pod, pod_json({.name = "web"}));
  h.start_agent({"--resize-semantics=per-container"});  // auto adds one /version check at start-up
  REQUIRE(eventually([&] { return h.ready() && h.value_is(cpu_allocated, 0.1); }));
  // Ready comes after the lists; the baseline waits for both watches too.
  REQUIRE(eventually([&] { return h.api.watch_count() == 2; }));
  const auto before = h.api.total_requests();
  for (int i = 0; i < 20; ++i) {
    CHECK(h.value_is(cpu_allocated, 0.1));
    http_get(h.port(), "/report");
    http_get(h.port(), "/sync");
    http_get(h.port(), "/debug/pods");
  }
  CHECK(h.api.total_requests() == before);
  // Two lists and two watches in all: one of each per resource.
  CHECK(h.api.request_count("list") == 2);
  CHECK(h.api.request_count("watch") == 2);
}

TEST_CASE("watch disconnect resumes from the last resourceVersion without relisting") {
  Harness h;
  h.api.upsert(Kind::pod, pod_json({.name = "a", .cpu = "1"}));
  h.start_agent();
  REQUIRE(eventually([&] { return h.value_is(cpu_allocated, 1); }));
  REQUIRE(eventually([&] { return h.api.watch_count() == 2; }));
  h.api.drop_watches();
  h.api.upsert(Kind::pod, pod_json({.name = "b", .cpu = "2"}));  // lands while the watch is down
  CHECK(eventually([&] { return h.value_is(cpu_allocated, 3); }));
  CHECK(h.api.request_count("list") == 2);  // replayed from history, not relisted
  CHECK(h.api.request_count("watch") >= 4);
}

TEST_CASE("410 Gone after compaction relists consistently and catches up") {
  Harness h;
  h.api.upsert(Kind::pod, pod_json({.name = "a", .cpu = "1"}));
  h.api.upsert(Kind::pod, pod_json({.name = "b", .cpu = "2"}));
  h.start_agent({"--list-page-size=1"});
  REQUIRE(eventually([&] { return h.value_is(cpu_allocated, 3) && h.api.watch_count() == 2; }));
  const auto lists_before = h.api.request_count("list");
  // No watch may resume before the compaction: one that did would stream the changes below live
  // and nothing would be too old (under qemu-user it happened). Until then watches are refused,
  // as by a restarting API server; the agent retries them from the same resourceVersion.
  h.api.set_fail_next(1'000'000, 503);
  h.api.drop_watches();
  h.api.remove(Kind::pod, "default", "a");
  h.api.upsert(Kind::pod, pod_json({.name = "c", .cpu = "500m"}));
  h.api.upsert(Kind::pod, pod_json({.name = "d", .cpu = "250m"}));
  h.api.compact();  // the agent's resourceVersion is now too old
  h.api.set_fail_next(0, 503);
  CHECK(eventually([&] { return h.value_is(cpu_allocated, 2.75); }));
  CHECK(h.value_is(pods_allocated, 3));
  const auto m = h.scrape();
  CHECK(*metric(m, R"(nodepack_watch_relists_expired_total{resource="pods"})") == 1);
  // Consistent relist of 3 pods with limit=1 takes 3 pages, plus the node relist's 1, which can
  // still be backing off when the pods are caught up (under qemu-user it was).
  CHECK(eventually([&] { return h.api.request_count("list") - lists_before == 4; }));
  CHECK(*metric(h.scrape(), R"(nodepack_watch_relists_expired_total{resource="nodes"})") == 1);
}

TEST_CASE("API errors back off and recover; readiness and cache age follow") {
  Harness h;
  h.api.set_fail_next(5, 500);
  h.start_agent({"--resize-semantics=per-container"});  // the 5 failures all go to the watches
  CHECK(http_get(h.port(), "/readyz").status == 503);
  CHECK(http_get(h.port(), "/readyz").body.find("not ready: ") == 0);
  REQUIRE(eventually([&] { return h.ready(); }));
  auto m = h.scrape();
  CHECK(*metric(m, R"(nodepack_watch_errors_total{resource="nodes"})") +
            *metric(m, R"(nodepack_watch_errors_total{resource="pods"})") ==
        5);
  CHECK(*metric(m, "kube_binpacking_cache_age_seconds") == 0);

  SECTION("cache age grows with the (injected) clock and resets on the next event") {
    h.clock.advance(std::chrono::seconds(120));
    CHECK(h.value_is("kube_binpacking_cache_age_seconds", 120));
    h.api.upsert(Kind::pod, pod_json({.name = "x"}));
    h.api.upsert(Kind::node, node_json("n1", "3920m", "15Gi"));
    CHECK(eventually([&] { return h.value_is("kube_binpacking_cache_age_seconds", 0); }));
    const auto sync = json::parse(http_get(h.port(), "/sync").body).as_object();
    CHECK(sync.at("resync_period").as_string() == "30m0s");
    CHECK(sync.at("node_synced").as_bool());
    CHECK(sync.at("pod_synced").as_bool());
    CHECK(sync.at("sync_age_seconds").as_double() == 0);
    CHECK(sync.at("last_sync").is_string());
    CHECK(sync.at("watches").as_array().size() == 2);
  }
  SECTION("a watch failing longer than the bound makes the agent unready, recovery makes it ready") {
    h.api.set_fail_next(1'000'000, 503);
    h.api.drop_watches();
    REQUIRE(eventually([&] {
      auto s = json::parse(http_get(h.port(), "/sync").body).as_object();
      return s.at("watches").as_array()[1].as_object().at("failing_since").is_string();
    }));
    CHECK(h.ready());  // failing, but not for long yet
    h.clock.advance(std::chrono::minutes(4));
    const auto r = http_get(h.port(), "/readyz");
    CHECK(r.status == 503);
    CHECK(r.body.find("watch failing") != std::string::npos);
    h.api.set_fail_next(0, 503);
    CHECK(eventually([&] { return h.ready(); }));
  }
}

TEST_CASE("malformed objects are counted and skipped; the rest stays right") {
  Harness h;
  h.api.upsert(Kind::pod, pod_json({.name = "good", .cpu = "300m"}));
  h.start_agent();
  REQUIRE(eventually([&] { return h.value_is(cpu_allocated, 0.3); }));
  h.api.upsert(Kind::pod, pod_json({.name = "bad", .cpu = "three cores"}));
  h.api.upsert(Kind::pod, pod_json({.name = "after", .cpu = "200m"}));
  CHECK(eventually([&] { return h.value_is(cpu_allocated, 0.5); }));
  CHECK(h.value_is(R"(nodepack_watch_decode_errors_total{resource="pods"})", 1));
  CHECK(h.ready());
}

TEST_CASE("report, debug pages and bad HTTP requests") {
  Harness h;
  h.api.upsert(Kind::pod, pod_json({.name = "web", .cpu = "250m", .memory = "128Mi"}));
  h.api.upsert(Kind::pod, pod_json({.name = "ds", .cpu = "100m", .memory = "50M", .daemonset = true}));
  h.start_agent();
  REQUIRE(eventually([&] { return h.ready() && h.value_is(pods_allocated, 2); }));

  const auto report = json::parse(http_get(h.port(), "/report").body).as_object();
  CHECK(report.at("node").as_string() == "n1");
  CHECK(report.at("labels").as_object().at("topology.kubernetes.io/zone").as_string() == "zone-a");
  CHECK(report.at("allocatable").as_object().at("cpu").as_string() == "3920m");
  CHECK(report.at("allocated").as_object().at("cpu").as_string() == "350m");
  CHECK(report.at("allocated").as_object().at("pods").as_string() == "2");
  CHECK(report.at("daemonset_allocated").as_object().at("memory").as_string() == "50000000");
  CHECK(report.at("pod_count").as_int64() == 2);
  CHECK(report.at("synced").as_bool());
  const auto generation = report.at("generation").to_number<std::uint64_t>();
  h.api.upsert(Kind::pod, pod_json({.name = "more"}));
  CHECK(eventually([&] {
    return json::parse(http_get(h.port(), "/report").body).as_object().at("generation").to_number<std::uint64_t>() >
           generation;
  }));

  // The report carries an ETag; asked again with it, an unchanged report is a 304 without a body.
  const auto tagged = http_get(h.port(), "/report");
  const std::string etag(tagged.headers[boost::beast::http::field::etag]);
  CHECK(etag.size() == 18);
  const auto again = http_send(h.port(), boost::beast::http::verb::get, "/report", "", "", "application/json",
                               {{"If-None-Match", etag}});
  CHECK(again.status == 304);
  CHECK(again.body.empty());

  const auto debug = json::parse(http_get(h.port(), "/debug/pods").body).as_object();
  CHECK(debug.at("pods").as_array().size() == 3);
  CHECK(debug.at("allocated").as_object().at("cpu").as_string() == "450m");

  CHECK(http_get(h.port(), "/healthz").body == "ok");
  CHECK(http_get(h.port(), "/nope").status == 404);
  const auto index = http_get(h.port(), "/");
  CHECK(index.status == 200);
  CHECK(index.body.find("<a href=\"/metrics\">") != std::string::npos);
  const auto config = json::parse(http_get(h.port(), "/debug/config").body).as_object();
  CHECK(config.at("node") == "n1");
  CHECK(config.at("settings").at("API server").as_string() == h.api.url());

  // A garbage request line gets a 400 and the server keeps serving.
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket socket(io);
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), h.port()});
  boost::asio::write(socket, boost::asio::buffer(std::string("NOT HTTP AT ALL\r\n\r\n")));
  std::string reply(12, '\0');
  boost::system::error_code ec;
  boost::asio::read(socket, boost::asio::buffer(reply), ec);
  CHECK(reply.substr(0, 12) == "HTTP/1.1 400");
  CHECK(http_get(h.port(), "/healthz").status == 200);
}

TEST_CASE("--disable-node-metrics keeps cache age and drops node series") {
  Harness h;
  h.start_agent({"--disable-node-metrics"});
  REQUIRE(eventually([&] { return h.ready(); }));
  const auto m = h.scrape();
  CHECK_FALSE(metric(m, cpu_allocated));
  CHECK(metric(m, "kube_binpacking_cache_age_seconds"));
}

TEST_CASE("agent: kpod_container_restarts per container from the API, and the pods it knows by phase") {
  Harness h;
  auto web = pod_json({.name = "web"});
  web["status"].as_object()["containerStatuses"] =
      json::array{json::object{{"name", "app"}, {"restartCount", 4}, {"containerID", "containerd://aa"}}};
  web["status"].as_object()["initContainerStatuses"] = json::array{json::object{{"name", "init"}, {"restartCount", 1}}};
  h.api.upsert(Kind::pod, web);
  h.api.upsert(Kind::pod, pod_json({.name = "waiting", .phase = "Pending"}));
  h.start_agent();
  REQUIRE(eventually([&] { return h.ready(); }));
  const std::string app = R"(kpod_container_restarts{namespace="default",pod="web",container="app",node="n1"})";
  const std::string init = R"(kpod_container_restarts{namespace="default",pod="web",container="init",node="n1"})";
  CHECK(h.value_is(app, 4));
  CHECK(h.value_is(init, 1));
  CHECK(h.value_is(R"(nodepack_agent_pods{node="n1",phase="Running"})", 1));
  CHECK(h.value_is(R"(nodepack_agent_pods{node="n1",phase="Pending"})", 1));
  web["status"].as_object()["containerStatuses"].as_array()[0].as_object()["restartCount"] = 5;
  h.api.upsert(Kind::pod, web);
  CHECK(eventually([&] { return h.value_is(app, 5); }));
  h.api.remove(Kind::pod, "default", "web");
  CHECK(eventually([&] { return !h.value(app).has_value(); }));
}

TEST_CASE("agent: kpod filters and labels apply to kpod_container_restarts; binpacking still counts every pod") {
  Harness h;
  auto with = [](json::object pod, std::string ns, json::object labels) {
    pod["metadata"].as_object()["namespace"] = std::move(ns);
    pod["metadata"].as_object()["labels"] = std::move(labels);
    pod["status"].as_object()["containerStatuses"] = json::array{json::object{{"name", "app"}, {"restartCount", 2}}};
    return pod;
  };
  h.api.upsert(Kind::pod, with(pod_json({.name = "web", .cpu = "200m"}), "shop",
                               {{"app.kubernetes.io/name", "shop"}, {"tier", "front"}}));
  h.api.upsert(Kind::pod, with(pod_json({.name = "dns", .cpu = "100m"}), "kube-system", {{"tier", "front"}}));
  h.api.upsert(Kind::pod, with(pod_json({.name = "job", .cpu = "300m"}), "batch", {{"tier", "back"}}));
  h.start_agent({"--kpod.filter.label-selector=tier=front", "--cluster-name=eu-1",
                 "--kpod.include-labels=app.kubernetes.io/name"});
  REQUIRE(eventually([&] { return h.ready(); }));
  CHECK(h.value_is(
      R"(kpod_container_restarts{namespace="shop",pod="web",container="app",node="n1",cluster="eu-1",app_kubernetes_io_name="shop"})",
      2));
  auto kpod_series_of = [&](const std::string& pod) {
    int n = 0;
    for (const auto& [series, value] : h.scrape()) {
      n += series.starts_with("kpod_") && series.find("pod=\"" + pod + "\"") != std::string::npos ? 1 : 0;
    }
    return n;
  };
  CHECK(kpod_series_of("web") == 1);
  CHECK(kpod_series_of("dns") == 0);  // kube-system: excluded by default
  CHECK(kpod_series_of("job") == 0);  // tier=back: not selected
  CHECK(h.value_is(R"(nodepack_kpod_pods{node="n1",scope="tracked"})", 1));
  CHECK(h.value_is(R"(nodepack_kpod_pods{node="n1",scope="filtered"})", 2));
  // Binpacking is not filtered: 200m + 100m + 300m.
  CHECK(h.value_is(R"(kube_binpacking_node_allocated{node="n1",resource="cpu"})", 0.6));
}

TEST_CASE("agent: every endpoint but the probes answers only callers the API server vouches for") {
  Harness h;
  h.start_agent({"--auth.mode=kubernetes"});
  REQUIRE(eventually([&] { return h.ready(); }));  // probes need no token
  CHECK(http_get(h.port(), "/healthz").status == 200);
  auto anonymous = http_get(h.port(), "/metrics");
  CHECK(anonymous.status == 401);
  CHECK(anonymous.headers[boost::beast::http::field::www_authenticate] == R"(Bearer realm="nodepack-agent")");
  CHECK(http_get(h.port(), "/metrics", "forged").status == 401);
  const auto reviews_before = h.api.request_count("review");
  auto scrape = http_get(h.port(), "/metrics", "prom-token");
  CHECK(scrape.status == 200);
  CHECK(scrape.body.find("kube_binpacking_node_allocatable") != std::string::npos);
  CHECK(http_get(h.port(), "/report", "prom-token").status == 403);
  CHECK(http_get(h.port(), "/report", "agg-token").status == 200);
  CHECK(http_get(h.port(), "/sync", "agg-token").status == 200);
  CHECK(http_get(h.port(), "/debug/pods", "agg-token").status == 403);
  CHECK(http_get(h.port(), "/debug/pods", "stranger-token").status == 403);
  CHECK(http_get(h.port(), "/debug/pods", "secret").status == 200);  // the cluster's admin
  // The page is a script without data: it loads for anyone, what it reads does not.
  const auto page = http_get(h.port(), "/");
  CHECK(page.status == 200);
  CHECK(page.body.find("const METRICS_PATH = \"/metrics\";") != std::string::npos);
  CHECK(page.body.find(h.api.url()) == std::string::npos);
  CHECK(http_get(h.port(), "/debug/config").status == 401);
  CHECK(http_get(h.port(), "/debug/config", "stranger-token").status == 403);
  // Scraping again costs no review: the answers are cached.
  const auto reviews = h.api.request_count("review");
  for (int i = 0; i < 5; ++i) {
    CHECK(http_get(h.port(), "/metrics", "prom-token").status == 200);
  }
  CHECK(h.api.request_count("review") == reviews);
  CHECK(reviews > reviews_before);
  const auto m = parse_metrics(http_get(h.port(), "/metrics", "prom-token").body);
  CHECK(*metric(m, R"(nodepack_agent_auth_requests_total{result="unauthenticated"})") == 3);
  CHECK(*metric(m, R"(nodepack_agent_auth_requests_total{result="forbidden"})") == 4);
}

TEST_CASE("agent: --resize-semantics auto follows the API server's version and asks again after the watches recover") {
  // kubernetes/kubernetes#140046's pod: desired c1=1, c2=2; allocated and actuated c1=2, c2=1.
  // Per container (before 1.37): max(1,2) + max(2,1) = 4 cores. Max of sums (1.37): max(3, 3) = 3.
  auto resized = pod_json({.name = "resized", .cpu = "1", .memory = "64Mi"});
  auto& spec = resized["spec"].as_object();
  spec["containers"] = json::array{{{"name", "c1"}, {"resources", {{"requests", {{"cpu", "1"}}}}}},
                                   {{"name", "c2"}, {"resources", {{"requests", {{"cpu", "2"}}}}}}};
  resized["status"].as_object()["containerStatuses"] = json::array{
      {{"name", "c1"}, {"allocatedResources", {{"cpu", "2"}}}, {"resources", {{"requests", {{"cpu", "2"}}}}}},
      {{"name", "c2"}, {"allocatedResources", {{"cpu", "1"}}}, {"resources", {{"requests", {{"cpu", "1"}}}}}}};
  Harness h;
  h.api.set_version("v1.36.3");
  h.api.upsert(Kind::pod, resized);
  h.start_agent();
  REQUIRE(eventually([&] { return h.ready() && h.value_is(cpu_allocated, 4); }));
  auto resize = [&] { return json::parse(http_get(h.port(), "/sync").body).at("resize_semantics").as_object(); };
  REQUIRE(eventually([&] { return resize().at("server_version") == "v1.36.3"; }));
  CHECK(resize().at("setting") == "auto");
  CHECK(resize().at("semantics") == "per-container");
  CHECK(resize().at("decided_by") == "auto: API server v1.36.3 (1.36 < 1.37)");
  CHECK(h.value_is(cpu_allocated, 4));

  // The control plane is upgraded: the API server restarts (watches fail, then reconnect).
  h.api.set_version("v1.37.0");
  h.api.set_fail_next(4, 503);
  h.api.drop_watches();
  CHECK(eventually([&] { return h.value_is(cpu_allocated, 3); }));
  CHECK(resize().at("semantics") == "max-of-sums");
  CHECK(resize().at("decided_by") == "auto: API server v1.37.0 (1.37 >= 1.37)");
  const auto debug = json::parse(http_get(h.port(), "/debug/pods").body).as_object();
  CHECK(debug.at("resize_semantics") == "max-of-sums");

  SECTION("a fixed setting ignores the version") {
    Harness fixed;
    fixed.api.set_version("v1.37.0");
    fixed.api.upsert(Kind::pod, resized);
    fixed.start_agent({"--resize-semantics=per-container"});
    REQUIRE(eventually([&] { return fixed.ready() && fixed.value_is(cpu_allocated, 4); }));
    const auto s = json::parse(http_get(fixed.port(), "/sync").body).at("resize_semantics").as_object();
    CHECK(s.at("decided_by") == "--resize-semantics=per-container");
    CHECK(s.at("server_version").is_null());
  }
}
