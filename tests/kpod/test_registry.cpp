#include "tests/support/test_registry.hpp"
#include "kpod/pod_series.hpp"
#include "kpod/registry.hpp"
#include "tests/support/fake_pods.hpp"
#include "tests/support/kernel_env.hpp"
#include "tests/support/temp_dir.hpp"

#include "tests/support/fixtures.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

namespace nk = nodepack::kpod;
using nodepack::testing::find_metric;
using nodepack::testing::FixedPodLookup;
using nodepack::testing::TempDir;
using nodepack::testing::TestRegistry;
namespace fs = std::filesystem;

namespace {

struct Count {
  std::uint64_t n = 0;
  Count& operator+=(const Count& o) {
    n += o.n;
    return *this;
  }
};

// A collector whose "map" is a plain std::map the test writes to.
class FakeCollector final : public nk::Collector {
 public:
  FakeCollector(std::string name, bool start_ok, std::map<std::uint64_t, Count>* map)
      : name_(std::move(name)), start_ok_(start_ok), map_(map) {}
  nodepack::Result<void> start() override {
    if (!start_ok_) {
      return nodepack::fail("load BPF programs: Operation not permitted");
    }
    return {};
  }
  nodepack::Result<void> collect(const nk::ScrapeContext& ctx, std::vector<prometheus::MetricFamily>& out) override {
    if (clock != nullptr) {
      clock->advance(std::chrono::milliseconds(250));
    }
    if (fail_next) {
      fail_next = false;
      return nodepack::fail("map read failed");
    }
    std::vector<std::pair<std::uint64_t, Count>> read(map_->begin(), map_->end());
    std::vector<std::uint64_t> drop;
    auto rows = series_.fold(ctx, read, drop);
    for (auto id : drop) {
      map_->erase(id);
    }
    auto f = nodepack::metrics::Family::counter("fake_events_total", "events");
    for (const auto& r : rows) {
      f.add(ctx.labels(r.id), static_cast<double>(r.value.n));
    }
    std::move(f).into(out);
    return {};
  }
  bool fail_next = false;
  nodepack::ManualClock* clock = nullptr;

 private:
  std::string name_;
  bool start_ok_;
  std::map<std::uint64_t, Count>* map_;
  nk::PodSeries<Count> series_;
};

const std::string kUid = "11111111-2222-3333-4444-555555555555";
const std::string kCid1(64, '1');
const std::string kCid2(64, '2');

// One collector, "fake", that counts what `map` holds.
std::vector<nk::CollectorSpec> one_fake_collector(std::map<std::uint64_t, Count>& map) {
  return {{"fake", nk::Profile::minimal, false,
           [&map](const nk::CollectorDeps&) { return std::make_unique<FakeCollector>("fake", true, &map); }}};
}

}  // namespace

TEST_CASE("profiles nest and parse") {
  CHECK(nk::parse_profile("minimal").value() == nk::Profile::minimal);
  CHECK(nk::parse_profile("comprehensive").value() == nk::Profile::comprehensive);
  CHECK_FALSE(nk::parse_profile("custom").has_value());
  CHECK(nk::Profile::minimal < nk::Profile::standard);
}

TEST_CASE("registry: profile and flags choose collectors; a failing one is down, the rest run") {
  TempDir tmp;
  FixedPodLookup pods;
  std::map<std::uint64_t, Count> map;
  FakeCollector* ok_ptr = nullptr;
  std::vector<nk::CollectorSpec> specs = {
      {"ok", nk::Profile::minimal, false,
       [&](const nk::CollectorDeps&) {
         auto c = std::make_unique<FakeCollector>("ok", true, &map);
         ok_ptr = c.get();
         return c;
       }},
      {"broken", nk::Profile::minimal, false,
       [&](const nk::CollectorDeps&) { return std::make_unique<FakeCollector>("broken", false, &map); }},
      {"heavy", nk::Profile::comprehensive, false,
       [&](const nk::CollectorDeps&) { return std::make_unique<FakeCollector>("heavy", true, &map); }},
      {"optin", nk::Profile::comprehensive, false,
       [&](const nk::CollectorDeps&) { return std::make_unique<FakeCollector>("optin", true, &map); }},
  };
  nodepack::ManualClock clock;
  nk::RegistryOptions opts;
  opts.collectors.node = "n1";
  opts.profile = nk::Profile::standard;
  opts.enable["optin"] = true;
  opts.collectors.clock = &clock;
  TestRegistry reg(opts, tmp.path(), pods, specs);
  reg->start();
  auto status = reg->status();
  CHECK(status == std::map<std::string, bool>{{"ok", true}, {"broken", false}, {"optin", true}});

  auto fams = reg->Collect();
  CHECK(find_metric(fams, "nodepack_collector_up", {{"collector", "ok"}})->gauge.value == 1);
  CHECK(find_metric(fams, "nodepack_collector_up", {{"collector", "broken"}})->gauge.value == 0);
  CHECK(find_metric(fams, "nodepack_collector_errors_total", {{"collector", "broken"}})->counter.value == 1);
  CHECK(find_metric(fams, "nodepack_collector_up", {{"collector", "heavy"}}) == nullptr);
  CHECK(find_metric(fams, "nodepack_collector_scrape_duration_seconds", {{"collector", "ok"}}) != nullptr);
  CHECK(find_metric(fams, "nodepack_collector_scrape_duration_seconds", {{"collector", "broken"}}) == nullptr);

  ok_ptr->fail_next = true;
  ok_ptr->clock = &clock;
  fams = reg->Collect();
  CHECK(find_metric(fams, "nodepack_collector_scrape_duration_seconds", {{"collector", "ok"}})->gauge.value ==
        Approx(0.25));
  CHECK(find_metric(fams, "nodepack_collector_errors_total", {{"collector", "ok"}})->counter.value == 1);
  CHECK(find_metric(fams, "nodepack_collector_up", {{"collector", "ok"}})->gauge.value ==
        1);  // a bad scrape is not down
}

TEST_CASE("registry: counters survive a container restart and go with the pod") {
  TempDir tmp;
  FixedPodLookup pods;
  pods.add(kUid, {"ns", "web", {{kCid1, "app"}, {kCid2, "app"}}});
  const fs::path pod = tmp.path() / "kubepods/burstable" / ("pod" + kUid);
  fs::create_directories(pod / kCid1);
  std::map<std::uint64_t, Count> map;
  const std::vector<nk::CollectorSpec> specs = one_fake_collector(map);
  nk::RegistryOptions opts;
  opts.collectors.node = "n1";
  TestRegistry reg(opts, tmp.path(), pods, specs);
  reg->start();
  const auto first = nodepack::testing::inode_of(pod / kCid1);
  map[first].n = 10;
  CHECK(find_metric(reg->Collect(), "fake_events_total", {{"container", "app"}})->counter.value == 10);

  // The container restarts: old cgroup gone, new one with a new id, same container name.
  map[first].n = 12;  // last events of the old container, not read yet
  // (new dir first: a plain filesystem would hand the old inode straight back; cgroup ids are not
  // reused that way)
  fs::create_directories(pod / kCid2);
  fs::remove(pod / kCid1);
  reg->rescan();
  const auto second = nodepack::testing::inode_of(pod / kCid2);
  map[second].n = 3;
  CHECK(find_metric(reg->Collect(), "fake_events_total", {{"container", "app"}})->counter.value == 15);
  CHECK(map.count(first) == 0);  // the removed cgroup's entry was deleted after its last read
  map[second].n = 5;
  CHECK(find_metric(reg->Collect(), "fake_events_total", {{"container", "app"}})->counter.value == 17);

  // The pod goes: exported once more with its final value, then never again.
  map[second].n = 6;
  fs::remove_all(tmp.path() / "kubepods");
  pods.clear();
  reg->rescan();
  CHECK(find_metric(reg->Collect(), "fake_events_total", {{"container", "app"}})->counter.value == 18);
  CHECK(map.empty());
  CHECK(find_metric(reg->Collect(), "fake_events_total", {{"container", "app"}}) == nullptr);
  CHECK(reg.resolver().removed().empty());
}

TEST_CASE("pod labels omit an unknown container and add the node") {
  nodepack::cgroup::PodIdentity id{"ns", "p", "", "uid"};
  auto l = nk::PodScope().labels(id, "n1", {{"syscall", "read"}});
  REQUIRE(l.size() == 4);
  CHECK(l[0].name == "namespace");
  CHECK(l[1].value == "p");
  CHECK(l[2].name == "node");
  CHECK(l[3].value == "read");
}

TEST_CASE("registry: a filtered pod gets no series, its entries go, and its cgroups are handed to the skip list") {
  TempDir tmp;
  FixedPodLookup pods;
  const std::string kept = "aaaaaaaa-0000-4000-8000-000000000001";
  const std::string system = "aaaaaaaa-0000-4000-8000-000000000002";
  pods.add(kept, {"shop", "web", {{kCid1, "app"}}, std::nullopt, {{"app", "web"}, {"app.kubernetes.io/name", "shop"}}});
  pods.add(system, {"kube-system", "dns", {{kCid2, "dns"}}, std::nullopt, {{"app", "dns"}}});
  const fs::path kept_dir = tmp.path() / "kubepods/burstable" / ("pod" + kept);
  const fs::path system_dir = tmp.path() / "kubepods/burstable" / ("pod" + system);
  fs::create_directories(kept_dir / kCid1);
  fs::create_directories(system_dir / kCid2);
  std::map<std::uint64_t, Count> map;
  std::vector<std::vector<std::uint64_t>> skipped;
  const std::vector<nk::CollectorSpec> specs = one_fake_collector(map);
  nk::RegistryOptions opts;
  opts.collectors.node = "n1";
  nk::PodScopeOptions scope;  // kpod's defaults: kube-system and kube-public left out
  scope.cluster = "eu-1";
  opts.scope = nk::PodScope::create(scope).value();
  opts.skip_cgroups = [&](const std::vector<std::uint64_t>& ids) { skipped.push_back(ids); };
  TestRegistry reg(opts, tmp.path(), pods, specs);
  reg->start();

  // Handed over at start, before any program could count: the pod level and its container.
  const auto sys_pod = nodepack::testing::inode_of(system_dir);
  const auto sys_ctr = nodepack::testing::inode_of(system_dir / kCid2);
  REQUIRE_FALSE(skipped.empty());
  auto last = skipped.back();
  std::sort(last.begin(), last.end());
  std::vector<std::uint64_t> want{sys_pod, sys_ctr};
  std::sort(want.begin(), want.end());
  CHECK(last == want);

  // An entry made before the pod was known to be filtered (a race at container start) is deleted
  // at the next scrape and never exported.
  const auto kept_ctr = nodepack::testing::inode_of(kept_dir / kCid1);
  map[kept_ctr].n = 7;
  map[sys_ctr].n = 99;
  auto fams = reg->Collect();
  auto* web = find_metric(fams, "fake_events_total", {{"pod", "web"}});
  REQUIRE(web != nullptr);
  CHECK(web->counter.value == 7);
  std::map<std::string, std::string> labels;
  for (const auto& l : web->label) {
    labels[l.name] = l.value;
  }
  CHECK(labels == std::map<std::string, std::string>{{"namespace", "shop"},
                                                     {"pod", "web"},
                                                     {"container", "app"},
                                                     {"node", "n1"},
                                                     {"cluster", "eu-1"},
                                                     {"app", "web"},
                                                     {"app_kubernetes_io_name", "shop"}});
  CHECK(find_metric(fams, "fake_events_total", {{"pod", "dns"}}) == nullptr);
  CHECK(map.count(sys_ctr) == 0);
  CHECK(map.at(kept_ctr).n == 7);
}

TEST_CASE("registry: pod labels are looked up again after a pod event, so a selector follows them") {
  TempDir tmp;
  FixedPodLookup pods;
  pods.add(kUid, {"shop", "web", {{kCid1, "app"}}, std::nullopt, {{"track", "yes"}}});
  const fs::path dir = tmp.path() / "kubepods/burstable" / ("pod" + kUid);
  fs::create_directories(dir / kCid1);
  std::map<std::uint64_t, Count> map;
  std::vector<std::uint64_t> skipped;
  const std::vector<nk::CollectorSpec> specs = one_fake_collector(map);
  nk::RegistryOptions opts;
  opts.collectors.node = "n1";
  nk::PodScopeOptions scope;
  scope.label_selector = "track=yes";
  opts.scope = nk::PodScope::create(scope).value();
  opts.skip_cgroups = [&](const std::vector<std::uint64_t>& ids) { skipped = ids; };
  TestRegistry reg(opts, tmp.path(), pods, specs);
  reg->start();
  const auto ctr = nodepack::testing::inode_of(dir / kCid1);
  map[ctr].n = 4;
  CHECK(find_metric(reg->Collect(), "fake_events_total", {{"pod", "web"}})->counter.value == 4);
  CHECK(skipped.empty());

  pods.at(kUid).labels["track"] = "no";
  reg->rescan();               // what a pod event does
  CHECK(skipped.size() == 2);  // pod level and container
  CHECK(find_metric(reg->Collect(), "fake_events_total", {{"pod", "web"}}) == nullptr);
  CHECK(map.count(ctr) == 0);
}

TEST_CASE("registry: the filtered cgroups are worked out at pod events, not at every scrape") {
  TempDir tmp;
  FixedPodLookup pods;
  const std::string other = "aaaaaaaa-0000-4000-8000-000000000003";
  pods.add(kUid, {"shop", "web", {{kCid1, "app"}}, std::nullopt, {{"track", "yes"}}});
  pods.add(other, {"shop", "db", {{kCid2, "db"}}, std::nullopt, {{"track", "yes"}}});
  const fs::path dir = tmp.path() / "kubepods/burstable" / ("pod" + kUid);
  fs::create_directories(dir / kCid1);
  std::map<std::uint64_t, Count> map;
  std::vector<std::vector<std::uint64_t>> skipped;
  const std::vector<nk::CollectorSpec> specs = one_fake_collector(map);
  nk::RegistryOptions opts;
  opts.collectors.node = "n1";
  nk::PodScopeOptions scope;
  scope.label_selector = "track=yes";
  opts.scope = nk::PodScope::create(scope).value();
  opts.skip_cgroups = [&](const std::vector<std::uint64_t>& ids) { skipped.push_back(ids); };
  TestRegistry reg(opts, tmp.path(), pods, specs);
  reg->start();
  REQUIRE(skipped.size() == 1);
  CHECK(skipped.back().empty());
  for (int i = 0; i < 5; ++i) {
    reg->Collect();
  }
  CHECK(skipped.size() == 1);  // no walk since: the same answer, not worked out again

  // A pod event: the pod's label changes and its walk (of that pod alone) makes a new answer.
  pods.at(kUid).labels["track"] = "no";
  reg->rescan_pods({kUid});
  REQUIRE(skipped.size() == 2);
  auto last = skipped.back();
  std::sort(last.begin(), last.end());
  std::vector<std::uint64_t> want{nodepack::testing::inode_of(dir), nodepack::testing::inode_of(dir / kCid1)};
  std::sort(want.begin(), want.end());
  CHECK(last == want);
  map[want[0]].n = 3;
  map[want[1]].n = 3;
  CHECK(find_metric(reg->Collect(), "fake_events_total", {{"pod", "web"}}) == nullptr);
  CHECK(skipped.size() == 2);

  // Another pod's event with nothing of its own on disk yet still looks again, and keeps the first.
  reg->rescan_pods({other});
  REQUIRE(skipped.size() == 3);
  CHECK(skipped.back().size() == 2);
}

TEST_CASE("registry: BPF collectors' start-up time is exported as their load duration") {
  TempDir tmp;
  FixedPodLookup pods;
  std::map<std::uint64_t, Count> map;
  nodepack::ManualClock clock;
  std::vector<nk::CollectorSpec> specs = {
      {"kernel", nk::Profile::minimal, true,
       [&](const nk::CollectorDeps&) {
         clock.advance(std::chrono::milliseconds(1500));  // as long as verifying and attaching took
         return std::make_unique<FakeCollector>("kernel", true, &map);
       }},
      {"files", nk::Profile::minimal, false,
       [&](const nk::CollectorDeps&) { return std::make_unique<FakeCollector>("files", true, &map); }}};
  nk::RegistryOptions opts;
  opts.collectors.node = "n1";
  opts.collectors.clock = &clock;
  TestRegistry reg(opts, tmp.path(), pods, specs);
  reg->start();
  auto fams = reg->Collect();
  CHECK(find_metric(fams, "nodepack_bpf_load_duration_seconds", {{"collector", "kernel"}})->gauge.value == Approx(1.5));
  CHECK(find_metric(fams, "nodepack_bpf_load_duration_seconds", {{"collector", "files"}}) == nullptr);
  CHECK(find_metric(fams, "nodepack_bpf_map_update_errors_total", {{"collector", "kernel"}})->counter.value == 0);
}
