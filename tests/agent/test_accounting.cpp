// Usage accounting in the agent: integrals of requests, limits, GPUs and memory samples checked
// against hand-computed values for scripted pod lifetimes, on an injected clock; the state file
// across a restart and when corrupt; GPUs from a device checkpoint; GPU memory through a stub NVML.

#include "agent/accounting/accounting_source.hpp"
#include "agent/accounting/exact_integral.hpp"
#include "agent/accounting/gpu_allocation.hpp"
#include "agent/accounting/memory_sampler.hpp"
#include "agent/accounting/request_integrator.hpp"
#include "agent/accounting/state_file.hpp"
#include "agent/agent_options.hpp"
#include "agent/node_state.hpp"
#include "agent/store_pod_lookup.hpp"
#include "cgroup/resolver.hpp"
#include "metrics/registry.hpp"
#include "metrics/text_format.hpp"
#include "numa/checkpoint.hpp"
#include "tests/agent/accounting_fixtures.hpp"
#include "tests/support/fake_pods.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/kubelet_checksum.hpp"
#include "tests/support/metrics_text.hpp"
#include "tests/support/temp_dir.hpp"

#include <dlfcn.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>
#include <set>

using namespace nodepack;
using namespace nodepack::agent::accounting;
using nodepack::testing::container_json;
using nodepack::testing::metric;
using nodepack::testing::parse;
using nodepack::testing::parse_metrics;
using nodepack::testing::pod_object;
using nodepack::testing::status_json;
using nodepack::testing::TempDir;
namespace json = boost::json;
namespace fs = std::filesystem;
using std::chrono::seconds;

namespace {

std::string series(const std::string& name, const std::string& pod, const std::string& container,
                   const std::string& extra = "") {
  return name + R"({namespace="team-a",pod=")" + pod + R"(",container=")" + container + R"(",node="n1")" +
         (extra.empty() ? "" : "," + extra) + "}";
}

const std::string cpu_req = "nodepack_container_cpu_requested_core_seconds_total";
const std::string cpu_lim = "nodepack_container_cpu_limited_core_seconds_total";
const std::string mem_req = "nodepack_container_memory_requested_byte_seconds_total";
const std::string mem_used = "nodepack_container_memory_used_byte_seconds_total";
const std::string gpu_sec = "nodepack_container_gpu_allocated_seconds_total";

// One accounting source over a scratch host root, as the agent builds it.
struct Rig {
  TempDir dir;
  ManualClock clock;
  std::chrono::system_clock::time_point t0 = clock.now();
  agent::NodeState state{"n1", kube::ResizeSemantics::per_container};
  agent::StorePodLookup lookup{state};
  // The fixture host's cgroup v2 tree is plain directories: the resolver takes it as the root.
  cgroup::CgroupResolver cgroups{dir.path() / "host/sys/fs/cgroup", lookup};
  std::unique_ptr<AccountingSource> source;
  metrics::MetricsRegistry registry;

  // The source starts `start_after` into the clock's time line (a restarted agent starts later).
  explicit Rig(std::function<void(AccountingOptions&)> tweak = {}, seconds start_after = seconds(0)) {
    clock.advance(start_after);
    make(std::move(tweak));
  }

  void make(std::function<void(AccountingOptions&)> tweak = {}) {
    AccountingOptions o;
    o.paths = HostPaths::under(dir.path() / "host");
    o.node = "n1";
    o.nvml_library = (dir.path() / "no-such-libnvidia-ml.so.1").string();
    if (tweak) {
      tweak(o);
    }
    if (source) {
      state.unsubscribe(source.get());  // a restarted agent: the old source is gone
    }
    source = std::make_unique<AccountingSource>(state, std::move(o), &cgroups, "", clock);
    source->start();
    state.subscribe(source.get());
    registry = metrics::MetricsRegistry();
    registry.add(source->collector());
  }
  void at(int s) { clock.advance(t0 + seconds(s) - clock.now()); }
  // A scrape writes the accounting's text straight from its state: every scrape here also holds it
  // against the prometheus families Collect() builds from the same state (the clock stands still).
  std::map<std::string, double> scrape() const {
    const std::string text = registry.render();
    std::string from_families;
    metrics::append_text(from_families, registry.Collect());
    CHECK(text == from_families);
    return parse_metrics(text);
  }
  // Through the node state, as the reflector delivers it.
  void upsert(const json::object& pod) {
    REQUIRE(state.pod_sink().apply(kube::WatchEventType::modified, pod).has_value());
  }
  void remove(const json::object& pod) {
    REQUIRE(state.pod_sink().apply(kube::WatchEventType::deleted, pod).has_value());
  }
  void relist(const std::vector<json::object>& pods) {
    std::vector<json::value> items(pods.begin(), pods.end());
    REQUIRE(state.pod_sink().replace(items).has_value());
  }
};

json::object web_pod(const std::string& cpu, bool resized = false) {
  json::array statuses{status_json("app", "running")};
  if (resized) {
    // The resize is allocated but not actuated yet: the scheduler already counts the larger value.
    auto& s = statuses[0].as_object();
    s["allocatedResources"] = {{"cpu", cpu}, {"memory", "1Gi"}};
    s["resources"] = {{"requests", {{"cpu", "500m"}, {"memory", "1Gi"}}}};
  }
  return pod_object("web", "uid-web", "Running", {container_json({.name = "app", .cpu = cpu, .memory = "1Gi"})}, {},
                    statuses);
}

json::object batch_pod(const std::string& phase, bool setup_done, std::chrono::system_clock::time_point main_started) {
  json::array init{container_json({.name = "setup", .cpu = "2", .memory = "256Mi"}),
                   container_json({.name = "proxy", .cpu = "100m", .memory = "64Mi", .restart_policy = "Always"})};
  json::array containers{
      container_json({.name = "main", .cpu = "250m", .memory = "512Mi", .cpu_limit = "1", .memory_limit = "1Gi"})};
  json::array init_statuses{status_json("setup", setup_done ? "terminated" : "running"),
                            status_json("proxy", setup_done ? "running" : "waiting")};
  json::array statuses{status_json("main", setup_done ? "running" : "waiting", main_started)};
  return pod_object("batch", "uid-batch", phase, containers, init, statuses, init_statuses);
}

}  // namespace

TEST_CASE("exact integral: pieces add up to the whole and round-trip as text") {
  ExactIntegral a;
  ExactIntegral b;
  // 333m for 3 s in three 1 s pieces and one 3 s piece: both exactly 0.999 core-seconds.
  for (int i = 0; i < 3; ++i) {
    a.add(kube::Quantity::from_milli(333).nanos(), seconds(1));
  }
  b.add(kube::Quantity::from_milli(333).nanos(), seconds(3));
  CHECK(a == b);
  CHECK(a.to_string() == "0.999000000000000000");
  // 1 TiB for a year does not overflow: 1099511627776 × 31536000 = 1099511627776 × 31536 × 1000
  // = (32985348833280000 + 1688849860263936) × 1000 = 34674198693543936000 byte-seconds.
  ExactIntegral big;
  big.add(kube::Quantity::from_units(1099511627776).nanos(), std::chrono::hours(24 * 365));
  CHECK(big.to_string() == "34674198693543936000.000000000000000000");
  CHECK(ExactIntegral::parse(big.to_string()) == big);
  CHECK_FALSE(ExactIntegral::parse("1.5").has_value());
  CHECK_FALSE(ExactIntegral::parse("-1.000000000000000000").has_value());
  // Negative time (a clock stepping back) adds nothing.
  ExactIntegral c;
  c.add(kube::Quantity::from_units(1).nanos(), seconds(-5));
  CHECK(c.value() == 0);
}

TEST_CASE("accounting: scripted pod lifetimes integrate to hand-computed core- and byte-seconds") {
  Rig rig;
  const auto main_started = rig.t0 + seconds(30);

  // t=0: web with 500m / 1Gi; batch Pending with its regular init container "setup" running.
  rig.relist({});
  rig.upsert(web_pod("500m"));
  rig.upsert(batch_pod("Pending", false, main_started));

  // t=10: gauges show what is held now, including the running init container.
  rig.at(10);
  auto m = rig.scrape();
  CHECK(*metric(m, series("nodepack_container_cpu_request_cores", "web", "app")) == 0.5);
  CHECK(*metric(m, series("nodepack_container_memory_request_bytes", "web", "app")) == 1073741824.0);
  CHECK(*metric(m, series("nodepack_container_cpu_request_cores", "batch", "setup")) == 2);
  CHECK(*metric(m, series("nodepack_container_cpu_limit_cores", "batch", "main")) == 1);
  CHECK(*metric(m, series("nodepack_container_memory_limit_bytes", "batch", "main")) == 1073741824.0);
  CHECK_FALSE(metric(m, series("nodepack_container_cpu_limit_cores", "web", "app")).has_value());
  CHECK_FALSE(metric(m, series(cpu_lim, "web", "app")).has_value());  // no limit, no limited counter
  CHECK(*metric(m, series(cpu_req, "web", "app")) == 5);              // 0.5 × 10

  // t=30: setup completed; main and the proxy sidecar run.
  rig.at(30);
  rig.upsert(batch_pod("Running", true, main_started));

  // t=100: web resized to 1500m (allocated, not yet actuated: counted at the larger value).
  rig.at(100);
  rig.upsert(web_pod("1500m", true));
  m = rig.scrape();
  CHECK(*metric(m, series("nodepack_container_cpu_request_cores", "web", "app")) == 1.5);
  CHECK(*metric(m, series("nodepack_container_uptime_seconds", "batch", "main")) == 70);  // 100 - 30
  CHECK_FALSE(metric(m, series("nodepack_container_cpu_request_cores", "batch", "setup")).has_value());

  // t=330: batch Succeeded.  t=400: web deleted.
  rig.at(330);
  rig.upsert(batch_pod("Succeeded", true, main_started));
  rig.at(400);
  rig.remove(web_pod("1500m", true));

  // t=500: nothing accrues after the end events.
  rig.at(500);
  m = rig.scrape();
  // web/app cpu: 0.5 cores × 100 s + 1.5 cores × (400 - 100) s = 50 + 450 = 500 core-seconds.
  CHECK(*metric(m, series(cpu_req, "web", "app")) == 500);
  // web/app memory: 1Gi × 400 s = 1073741824 × 400 = 429496729600 byte-seconds.
  CHECK(*metric(m, series(mem_req, "web", "app")) == 429496729600.0);
  // batch/setup ran 0..30 s: 2 × 30 = 60 core-seconds; 256Mi × 30 = 268435456 × 30 = 8053063680.
  CHECK(*metric(m, series(cpu_req, "batch", "setup")) == 60);
  CHECK(*metric(m, series(mem_req, "batch", "setup")) == 8053063680.0);
  // batch/proxy (sidecar) charged 0..330 s: 0.1 × 330 = 33; 64Mi × 330 = 67108864 × 330 = 22145925120.
  CHECK(*metric(m, series(cpu_req, "batch", "proxy")) == Approx(33).epsilon(1e-15));
  CHECK(*metric(m, series(mem_req, "batch", "proxy")) == 22145925120.0);
  // batch/main charged 0..330 s: request 0.25 × 330 = 82.5; limit 1 × 330 = 330;
  // memory 512Mi × 330 = 536870912 × 330 = 177167400960.
  CHECK(*metric(m, series(cpu_req, "batch", "main")) == 82.5);
  CHECK(*metric(m, series(cpu_lim, "batch", "main")) == 330);
  CHECK(*metric(m, series(mem_req, "batch", "main")) == 177167400960.0);
  // Ended containers export counters only: no gauges, no uptime.
  CHECK_FALSE(metric(m, series("nodepack_container_cpu_request_cores", "web", "app")).has_value());
  CHECK_FALSE(metric(m, series("nodepack_container_uptime_seconds", "batch", "main")).has_value());

  // The exact values behind the doubles.
  const auto accounts = rig.source->integrator().snapshot(rig.clock.now());
  for (const auto& a : accounts) {
    if (a.container == "proxy") {
      CHECK(a.cpu_requested.to_string() == "33.000000000000000000");
    }
  }

  // Retention: web ended at 400 and batch at 330; 5 minutes later their series go.
  rig.at(400 + 300);
  m = rig.scrape();
  CHECK(metric(m, series(cpu_req, "web", "app")).has_value());  // exactly 5 minutes: still there
  CHECK_FALSE(metric(m, series(cpu_req, "batch", "main")).has_value());
  rig.at(400 + 301);
  CHECK_FALSE(metric(rig.scrape(), series(cpu_req, "web", "app")).has_value());
}

TEST_CASE("accounting: overhead and pod-level requests above the containers' sum go to container POD") {
  Rig rig;
  auto pod = pod_object(
      "vm", "uid-vm", "Running",
      {container_json({.name = "a", .cpu = "1", .memory = "1Gi"}), container_json({.name = "b", .cpu = "500m"})});
  auto& spec = pod["spec"].as_object();
  spec["overhead"] = {{"cpu", "250m"}, {"memory", "128Mi"}};
  spec["resources"] = {{"requests", {{"cpu", "2"}, {"memory", "1Gi"}}}};
  auto plain = pod_object("plain", "uid-plain", "Running", {container_json({.name = "a", .cpu = "1"})});
  rig.relist({pod, plain});
  rig.at(100);
  auto m = rig.scrape();
  // cpu: overhead 0.25 + (pod-level 2 - containers 1.5) = 0.75 cores × 100 s = 75 core-seconds.
  CHECK(*metric(m, series(cpu_req, "vm", "POD")) == 75);
  // memory: overhead 128Mi; pod-level 1Gi equals the containers' 1Gi, nothing above: 134217728 × 100.
  CHECK(*metric(m, series(mem_req, "vm", "POD")) == 13421772800.0);
  CHECK(*metric(m, series(cpu_req, "vm", "b")) == 50);
  CHECK_FALSE(metric(m, series(cpu_req, "plain", "POD")).has_value());  // nothing beyond its containers
}

TEST_CASE("accounting: a relist ends pods that went away and a clock stepping back takes nothing") {
  Rig rig;
  rig.relist({web_pod("500m")});
  rig.at(100);
  rig.relist({});  // web deleted while the watch was down: it ends at the relist
  rig.at(200);
  CHECK(*metric(rig.scrape(), series(cpu_req, "web", "app")) == 50);

  Rig back;
  back.relist({web_pod("1")});
  back.at(100);
  CHECK(*metric(back.scrape(), series(cpu_req, "web", "app")) == 100);
  back.at(40);  // wall clock stepped back 60 s: no negative usage, and 40..100 is not counted twice
  CHECK(*metric(back.scrape(), series(cpu_req, "web", "app")) == 100);
  back.at(160);
  CHECK(*metric(back.scrape(), series(cpu_req, "web", "app")) == 160);
}

TEST_CASE("accounting: counters resume from the state file; the downtime is integrated with current requests") {
  TempDir dir;
  const fs::path state_path = dir.path() / "accounting.json";
  ManualClock clock;
  const auto t0 = clock.now();
  auto tweak = [&](AccountingOptions& o) { o.state_file = state_path; };

  {
    Rig first(tweak);
    REQUIRE(first.t0 == t0);
    first.relist({web_pod("500m"), batch_pod("Running", true, t0)});
    first.at(60);
    first.source->stop();  // the write on shutdown
  }
  REQUIRE(fs::exists(state_path));
  auto stored = read_state_file(state_path);
  REQUIRE(stored.has_value());
  REQUIRE(stored->has_value());
  CHECK((*stored)->containers.size() == 4);  // web/app, batch/setup, batch/proxy, batch/main

  // Restart 40 s later; web now requests 1500m, batch is gone.
  Rig second(tweak, seconds(100));
  REQUIRE(second.t0 == t0);
  auto m = second.scrape();
  CHECK_FALSE(metric(m, series(cpu_req, "web", "app")).has_value());  // nothing before the pod list
  CHECK(*metric(m, R"(nodepack_accounting_restored_containers{node="n1"})") == 0);
  second.relist({web_pod("1500m")});
  m = second.scrape();
  // 0.5 × 60 s stored + 1.5 × 40 s downtime (current request) = 30 + 60 = 90 core-seconds.
  CHECK(*metric(m, series(cpu_req, "web", "app")) == 90);
  // 1Gi × 100 s = 107374182400 byte-seconds.
  CHECK(*metric(m, series(mem_req, "web", "app")) == 107374182400.0);
  CHECK(*metric(m, R"(nodepack_accounting_restored_containers{node="n1"})") == 1);
  CHECK(*metric(m, R"(nodepack_accounting_start_time_seconds{node="n1"})") ==
        std::chrono::duration<double>((t0 + seconds(100)).time_since_epoch()).count());
  CHECK_FALSE(metric(m, series(cpu_req, "batch", "main")).has_value());  // gone during the downtime
  second.at(200);
  CHECK(*metric(second.scrape(), series(cpu_req, "web", "app")) == 240);  // 90 + 1.5 × 100
}

TEST_CASE("accounting: after a crash (no final write) the counters resume where they would have been") {
  TempDir dir;
  const fs::path state_path = dir.path() / "accounting.json";
  auto tweak = [&](AccountingOptions& o) { o.state_file = state_path; };
  {
    Rig first(tweak);
    first.relist({web_pod("500m")});  // a change of rate: written at once
    REQUIRE(fs::exists(state_path));
    first.at(60);
    CHECK(*metric(first.scrape(), series(cpu_req, "web", "app")) == 30);
    // Killed here: no stop(), no write since t=0.
  }
  Rig second(tweak, seconds(100));
  second.relist({web_pod("500m")});
  // Stored 0 at t=0, then 0.5 × 100 s: 50, above the 30 Prometheus saw, and exactly what an
  // agent that never stopped would show.
  CHECK(*metric(second.scrape(), series(cpu_req, "web", "app")) == 50);
}

TEST_CASE("accounting: a corrupt state file is moved aside, counted, and counting starts from zero") {
  TempDir dir;
  const fs::path state_path = dir.write("accounting.json", R"({"version":1,"node":"n1","containers":[{"pod_u)");
  Rig rig([&](AccountingOptions& o) { o.state_file = state_path; });
  rig.relist({web_pod("500m")});
  rig.at(10);
  auto m = rig.scrape();
  CHECK(*metric(m, series(cpu_req, "web", "app")) == 5);
  CHECK(*metric(m, R"(nodepack_accounting_state_file_errors_total{node="n1",operation="read"})") == 1);
  CHECK(*metric(m, R"(nodepack_accounting_restored_containers{node="n1"})") == 0);
  CHECK(rig.source->status().state_load_failed);
  int aside = 0;
  for (const auto& e : fs::directory_iterator(dir.path())) {
    aside += e.path().filename().string().starts_with("accounting.json.corrupt-") ? 1 : 0;
  }
  CHECK(aside == 1);
  // The next write puts a good file in place.
  rig.source->stop();
  auto again = read_state_file(state_path);
  REQUIRE(again.has_value());
  REQUIRE(again->has_value());
  CHECK((*again)->containers.size() == 1);

  // Wrong types inside valid JSON are refused with a reason, never a crash.
  CHECK_FALSE(
      parse_state(R"({"version":1,"node":"n1","written_unix_nanos":0,"containers":[{"pod_uid":1}]})").has_value());
  CHECK_FALSE(parse_state(R"({"version":2})").has_value());
  CHECK_FALSE(parse_state("[]").has_value());
}

TEST_CASE("accounting: a state file that cannot be written is counted and counting goes on") {
  TempDir dir;
  Rig rig([&](AccountingOptions& o) { o.state_file = dir.path() / "no-such-dir/accounting.json"; });
  rig.relist({web_pod("500m")});  // a change of rate: a write, which fails
  rig.at(10);
  auto m = rig.scrape();
  CHECK(*metric(m, R"(nodepack_accounting_state_file_errors_total{node="n1",operation="write"})") == 1);
  CHECK(*metric(m, R"(nodepack_accounting_state_file_errors_total{node="n1",operation="read"})") == 0);
  CHECK(*metric(m, series(cpu_req, "web", "app")) == 5);
}

TEST_CASE("accounting: a state file ahead of the clock is clamped and counted; billing goes on") {
  TempDir dir;
  const fs::path state_path = dir.path() / "accounting.json";
  const auto t0 = ManualClock().now();  // every Rig's clock starts there
  // Written by an agent whose clock ran an hour ahead (or before this clock stepped back): web/app
  // integrated, 30 core-seconds, up to t0 + 1 h.
  StoredContainer web;
  web.pod_uid = "uid-web";
  web.container = "app";
  web.namespace_name = "team-a";
  web.pod = "web";
  web.integrated_until = t0 + std::chrono::hours(1);
  web.cpu_requested = *ExactIntegral::parse("30.000000000000000000");
  web.memory_requested = *ExactIntegral::parse("0.000000000000000000");
  StoredState stored;
  stored.node = "n1";
  stored.written = t0 + std::chrono::hours(1);
  stored.containers = {web};
  REQUIRE(write_state_file(state_path, stored).has_value());

  Rig rig([&](AccountingOptions& o) { o.state_file = state_path; }, seconds(100));
  rig.relist({web_pod("500m")});
  rig.at(200);
  auto m = rig.scrape();
  // Resumed from t0 + 100 s, the moment of reading: 30 + 0.5 × 100 s. Kept at t0 + 1 h, the
  // counter would have stood still at 30 for the next hour.
  CHECK(*metric(m, series(cpu_req, "web", "app")) == 80);
  CHECK(*metric(m, R"(nodepack_accounting_restored_containers{node="n1"})") == 1);
  CHECK(metric(m, R"(nodepack_accounting_state_file_errors_total{node="n1",operation="restore"})") == 1.0);
  CHECK(*metric(m, R"(nodepack_accounting_state_file_errors_total{node="n1",operation="read"})") == 0);
  CHECK_FALSE(rig.source->status().state_load_failed);  // the file was used, not moved aside

  // The integrator on its own: what was ahead is reported, what was not is left alone.
  RequestIntegrator integrator;
  StoredContainer behind = web;
  behind.container = "sidecar";
  behind.integrated_until = t0 - seconds(5);
  const auto report = integrator.set_restore({web, behind}, t0);
  CHECK(report.clamped == 1);
  CHECK(report.ahead == std::chrono::hours(1));
  const auto kept = integrator.to_store(t0);
  REQUIRE(kept.size() == 2);
  CHECK(kept[0].integrated_until == t0);  // app, clamped
  CHECK(kept[1].integrated_until == t0 - seconds(5));
}

TEST_CASE("accounting: the state file is its owner's only (0600), whatever the umask or a stale temporary file") {
  TempDir dir;
  const fs::path path = dir.path() / "accounting.json";
  // An agent that died with this pid (pid 1 in a container, every time) left its temporary file,
  // world-readable; the previous state file is world-readable too.
  const fs::path stale = path.string() + ".tmp." + std::to_string(::getpid());
  testing::write_file(stale, "stale");
  testing::write_file(path, "{}");
  fs::permissions(stale, fs::perms::owner_all | fs::perms::group_read | fs::perms::others_read);
  fs::permissions(path, fs::perms::owner_all | fs::perms::group_read | fs::perms::others_read);
  StoredState state;
  state.node = "n1";
  const mode_t umask_before = ::umask(0);
  auto written = write_state_file(path, state);
  ::umask(umask_before);
  REQUIRE(written.has_value());
  CHECK((fs::status(path).permissions() & fs::perms::all) == (fs::perms::owner_read | fs::perms::owner_write));
  CHECK_FALSE(fs::exists(stale));
  auto back = read_state_file(path);
  REQUIRE(back.has_value());
  REQUIRE(back->has_value());
  CHECK((*back)->node == "n1");
}

TEST_CASE("accounting: a write that fails part way leaves no temporary file behind") {
  TempDir dir;
  const fs::path path = dir.path() / "accounting.json";
  StoredState state;
  state.node = "n1";
  StoredContainer c;
  c.pod_uid = "uid-web";
  c.namespace_name = "team-a";
  c.pod = "web";
  for (int i = 0; i < 100; ++i) {
    c.container = "c" + std::to_string(i);
    state.containers.push_back(c);
  }
  REQUIRE(render_state(state).size() > 4096);
  // As on a full disk: this process may not grow a file past 1 KiB, so the second write() fails
  // (EFBIG; SIGXFSZ ignored, as it would otherwise end the test). Nothing but the call under test
  // runs in between.
  struct rlimit before {};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &before) == 0);
  struct rlimit small = before;
  small.rlim_cur = 1024;
  const auto handler = std::signal(SIGXFSZ, SIG_IGN);
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
  auto written = write_state_file(path, state);
  ::setrlimit(RLIMIT_FSIZE, &before);
  std::signal(SIGXFSZ, handler);

  REQUIRE_FALSE(written.has_value());
  CHECK(written.error().message.find("cannot write") != std::string::npos);
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(dir.path())) {
    left.push_back(e.path().filename().string());
  }
  CHECK(left.empty());
  // And once the disk has room again, the same call works.
  REQUIRE(write_state_file(path, state).has_value());
  CHECK(render_state(*read_state_file(path).value()) == render_state(state));
}

TEST_CASE("accounting: GPU-seconds from the device-manager checkpoint") {
  // The shared kubelet fixture: one Tegra GPU for pod bf52b2cd.../check, NUMA id -1.
  auto tegra = numa::parse_device_checkpoint(
      testing::kubelet_fixture("kubelet_internal_checkpoint.kind-tegra.numa-minus1.json"));
  REQUIRE(tegra.has_value());
  auto tegra_gpus = gpu_allocations(*tegra, {"nvidia.com/gpu", "amd.com/gpu"});
  CHECK(tegra_gpus.at(ContainerKey{"bf52b2cd-b611-4e79-86b1-280b283185c3", "check"}).at("nvidia.com/gpu") == 1);
  CHECK(gpu_allocations(*tegra, {"amd.com/gpu"}).empty());

  Rig rig;
  const fs::path checkpoint = rig.dir.path() / "host/var/lib/kubelet/device-plugins/kubelet_internal_checkpoint";
  // Two NVIDIA GPUs on two NUMA nodes for web/app (one listed under both: counted once), a NIC
  // that is not a GPU, and an AMD GPU for a pod this node does not run. With the checksum the
  // kubelet would store: a device checkpoint whose checksum does not match is not used.
  auto write_checkpoint = [&](const std::string& app_devices) {
    testing::write_file(checkpoint, testing::with_kubelet_checksum(
                                        R"({"Data":{"PodDeviceEntries":[
      {"PodUID":"uid-web","ContainerName":"app","ResourceName":"nvidia.com/gpu","DeviceIDs":)" +
                                            app_devices +
                                            R"(,"AllocResp":null},
      {"PodUID":"uid-web","ContainerName":"app","ResourceName":"example.com/nic","DeviceIDs":{"0":["nic0"]},"AllocResp":null},
      {"PodUID":"uid-other","ContainerName":"x","ResourceName":"amd.com/gpu","DeviceIDs":{"0":["card0"]},"AllocResp":null}],
      "RegisteredDevices":{"nvidia.com/gpu":["GPU-a","GPU-b"]}},"Checksum":0})",
                                        &numa::parse_device_checkpoint, "v2"));
  };
  write_checkpoint(R"({"0":["GPU-a","GPU-b"],"1":["GPU-b"]})");
  rig.relist({web_pod("500m")});
  rig.source->tick();  // t=0: 2 GPUs
  rig.at(50);
  write_checkpoint(R"({"0":["GPU-a"]})");
  rig.source->tick();  // t=50: 1 GPU
  rig.at(80);
  auto m = rig.scrape();
  // 2 GPUs × 50 s + 1 GPU × 30 s = 130 GPU-seconds.
  CHECK(*metric(m, series(gpu_sec, "web", "app", R"(resource="nvidia.com/gpu")")) == 130);
  CHECK(*metric(m, series("nodepack_container_gpus_allocated", "web", "app", R"(resource="nvidia.com/gpu")")) == 1);
  CHECK_FALSE(metric(m, series(gpu_sec, "web", "app", R"(resource="example.com/nic")")).has_value());
  // Deleted: the GPU-seconds stop with the pod.
  rig.remove(web_pod("500m"));
  rig.at(200);
  CHECK(*metric(rig.scrape(), series(gpu_sec, "web", "app", R"(resource="nvidia.com/gpu")")) == 130);
}

TEST_CASE("accounting: memory used byte-seconds by the trapezoid rule") {
  RequestIntegrator integrator;
  ManualClock clock;
  const auto t0 = clock.now();
  integrator.pods_replaced({parse(web_pod("500m"))}, t0);
  const ContainerKey key{"uid-web", "app"};
  integrator.add_memory_sample(key, 100u << 20, t0);
  integrator.add_memory_sample(key, 200u << 20, t0 + seconds(10));
  integrator.add_memory_sample(key, 200u << 20, t0 + seconds(20));
  integrator.add_memory_sample({"uid-nobody", "x"}, 1, t0 + seconds(20));  // unknown: ignored
  const auto accounts = integrator.snapshot(t0 + seconds(30));
  REQUIRE(accounts.size() == 1);
  // (100 + 200) / 2 MiB × 10 s + 200 MiB × 10 s = 1500 + 2000 = 3500 MiB·s = 3500 × 1048576 = 3670016000.
  CHECK(accounts[0].memory_used.to_string() == "3670016000.000000000000000000");

  // Rounds: a container missing from one (crashed, no cgroup) is not bridged over the gap.
  integrator.add_memory_round({{key, 100u << 20}}, t0 + seconds(40));  // (200 + 100) / 2 MiB × 20 s
  integrator.add_memory_round({}, t0 + seconds(50));
  integrator.add_memory_round({{key, 300u << 20}}, t0 + seconds(60));  // a new chain: nothing for 40..60
  integrator.add_memory_round({{key, 300u << 20}}, t0 + seconds(70));  // 300 MiB × 10 s
  // 3500 + (200 + 100) / 2 × 20 + 300 × 10 = 3500 + 3000 + 3000 = 9500 MiB·s = 9961472000.
  CHECK(integrator.snapshot(t0 + seconds(70))[0].memory_used.to_string() == "9961472000.000000000000000000");
}

TEST_CASE("accounting: memory.current sampled from the container cgroups the pod store names") {
  Rig rig;
  const std::string cid(64, 'a');
  const fs::path dir = rig.dir.path() / "host/sys/fs/cgroup/kubepods.slice/kubepods-burstable.slice" /
                       "kubepods-burstable-pod12345678_aaaa_bbbb_cccc_1234567890ab.slice" /
                       ("cri-containerd-" + cid + ".scope");
  const std::string uid = "12345678-aaaa-bbbb-cccc-1234567890ab";
  auto pod = web_pod("500m");
  pod["metadata"].as_object()["uid"] = uid;
  pod["status"].as_object()["containerStatuses"] = json::array{status_json("app", "running", {}, cid)};
  rig.relist({pod});
  testing::write_file(dir / "memory.current", "104857600\n");
  rig.source->tick();
  rig.at(10);
  testing::write_file(dir / "memory.current", "209715200\n");
  rig.source->tick();
  auto m = rig.scrape();
  CHECK(*metric(m, R"(nodepack_accounting_memory_sampling_up{node="n1"})") == 1);
  // (100 MiB + 200 MiB) / 2 × 10 s = 1500 MiB·s = 1572864000 byte-seconds.
  CHECK(*metric(m, series(mem_used, "web", "app")) == 1572864000.0);
}

TEST_CASE("accounting: the memory sampler walks the cgroups itself only when no one has since pods changed") {
  TempDir tmp;
  const std::string uid = "12345678-aaaa-bbbb-cccc-1234567890ab";
  const std::string cid1(64, '1'), cid2(64, '2'), cid3(64, '3');
  const fs::path pod = tmp.path() / "kubepods/burstable" / ("pod" + uid);
  testing::FixedPodLookup pods;
  pods.add(uid, {"shop", "web", {{cid1, "a"}, {cid2, "b"}, {cid3, "c"}}});
  cgroup::CgroupResolver resolver(tmp.path(), pods);
  std::uint64_t generation = 1;
  MemorySampler sampler(resolver, [&] { return generation; });
  auto containers = [&] {
    std::set<std::string> out;
    for (const auto& [key, bytes] : sampler.sample()) {
      out.insert(key.container);
    }
    return out;
  };
  testing::write_file(pod / cid1 / "memory.current", "1\n");
  CHECK(containers() == std::set<std::string>{"a"});
  CHECK(resolver.walks() == 1);  // its own: the first sample

  // Pods changed and the kernel collectors walked the pod already: no second walk.
  testing::write_file(pod / cid2 / "memory.current", "2\n");
  ++generation;
  resolver.rescan_pods({uid});
  CHECK(containers() == std::set<std::string>{"a", "b"});
  CHECK(resolver.walks() == 2);

  // Pods changed and no one walked: the sampler does, and samples the new container now.
  testing::write_file(pod / cid3 / "memory.current", "3\n");
  ++generation;
  CHECK(containers() == std::set<std::string>{"a", "b", "c"});
  CHECK(resolver.walks() == 3);

  // Nothing changed: no walk.
  CHECK(containers().size() == 3);
  CHECK(resolver.walks() == 3);
}

TEST_CASE("accounting: GPU memory per container through a stub NVML library") {
  const std::string cid(64, 'c');
  const std::string uid = "12345678-aaaa-bbbb-cccc-1234567890ab";
  Rig rig([](AccountingOptions& o) { o.nvml_library = NODEPACK_NVML_STUB; });
  // The stub's processes: our own pid (placed in the pod's container by the fixture procfs) on
  // both GPUs, and a pid outside any pod on GPU 0.
  const unsigned int me = static_cast<unsigned int>(::getpid());
  testing::write_file(rig.dir.path() / "host/proc" / std::to_string(me) / "cgroup",
                      "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" +
                          std::string("12345678_aaaa_bbbb_cccc_1234567890ab") + ".slice/cri-containerd-" + cid +
                          ".scope\n");
  testing::write_file(rig.dir.path() / "host/proc/1/cgroup", "0::/init.scope\n");
  void* stub = ::dlopen(NODEPACK_NVML_STUB, RTLD_NOW | RTLD_NOLOAD);
  REQUIRE(stub != nullptr);  // the source loaded it already
  auto set = reinterpret_cast<void (*)(unsigned, const unsigned*, const unsigned long long*, unsigned)>(
      ::dlsym(stub, "nvml_stub_set_processes"));
  REQUIRE(set != nullptr);
  // 20 processes on GPU 0 make the agent grow its buffer past the first guess of 16.
  std::vector<unsigned> pids(20, 1);
  std::vector<unsigned long long> bytes(20, 5u << 20);
  pids[7] = me;
  bytes[7] = 1ull << 30;
  set(0, pids.data(), bytes.data(), static_cast<unsigned>(pids.size()));
  const unsigned gpu1_pids[] = {me};
  const unsigned long long gpu1_bytes[] = {512ull << 20};
  set(1, gpu1_pids, gpu1_bytes, 1);

  auto pod = web_pod("500m");
  pod["metadata"].as_object()["uid"] = uid;
  pod["status"].as_object()["containerStatuses"] = json::array{status_json("app", "running", {}, cid)};
  rig.relist({pod});
  rig.source->tick();
  auto m = rig.scrape();
  CHECK(*metric(m, R"(nodepack_accounting_nvml_up{node="n1"})") == 1);
  CHECK(*metric(m, series("nodepack_container_gpu_memory_used_bytes", "web", "app", R"(gpu="GPU-stub-0000")")) ==
        1073741824.0);
  CHECK(*metric(m, series("nodepack_container_gpu_memory_used_bytes", "web", "app", R"(gpu="GPU-stub-0001")")) ==
        536870912.0);
  ::dlclose(stub);
}

TEST_CASE("accounting: without the NVML library the feature is off and says so") {
  Rig rig;  // points at a library that does not exist
  rig.source->tick();
  CHECK(*metric(rig.scrape(), R"(nodepack_accounting_nvml_up{node="n1"})") == 0);
  CHECK_FALSE(Nvml::load("/nonexistent/libnvidia-ml.so.1").has_value());
}

TEST_CASE("accounting flags") {
  auto defaults = agent::parse_agent_options({"--node-name=n1"}, "");
  REQUIRE(defaults.has_value());
  CHECK(defaults->collect_accounting);
  CHECK(defaults->accounting_state_file.empty());
  CHECK(defaults->accounting_sample_interval == seconds(10));
  CHECK(defaults->accounting_retention == std::chrono::minutes(5));
  CHECK(defaults->accounting_gpu_resources == std::vector<std::string>{"nvidia.com/gpu", "amd.com/gpu"});
  CHECK(defaults->accounting_nvml_library == "libnvidia-ml.so.1");

  auto set = agent::parse_agent_options(
      {"--node-name=n1", "--collectors.accounting=false", "--accounting.state-file=/var/lib/nodepack/accounting.json",
       "--accounting.sample-interval=30s", "--accounting.retention=10m", "--accounting.gpu-resources=nvidia.com/gpu",
       "--accounting.nvml-library=/usr/lib/libnvidia-ml.so.1"},
      "");
  REQUIRE(set.has_value());
  CHECK_FALSE(set->collect_accounting);
  CHECK(set->accounting_state_file == "/var/lib/nodepack/accounting.json");
  CHECK(set->accounting_sample_interval == seconds(30));
  CHECK(set->accounting_retention == std::chrono::minutes(10));
  CHECK(set->accounting_gpu_resources == std::vector<std::string>{"nvidia.com/gpu"});
  CHECK(set->accounting_nvml_library == "/usr/lib/libnvidia-ml.so.1");
  CHECK_FALSE(agent::parse_agent_options({"--node-name=n1", "--accounting.sample-interval=0s"}, "").has_value());
}
