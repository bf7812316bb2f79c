#include "bpf/registry.hpp"
#include "bpf/metrics.hpp"
#include "bpf/pod_series.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

namespace nb = nodepack::bpf;
namespace fs = std::filesystem;

namespace {

class Pods final : public nb::PodLookup {
 public:
  std::map<std::string, nb::PodInfo> pods;
  std::optional<nb::PodInfo> by_uid(std::string_view uid) const override {
    auto it = pods.find(std::string(uid));
    return it == pods.end() ? std::nullopt : std::optional(it->second);
  }
};

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("nodepack-registry-" + std::to_string(::getpid()) + "-" +
                                        std::to_string(reinterpret_cast<std::uintptr_t>(this)));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

std::uint64_t ino(const fs::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_ino;
}

struct Count {
  std::uint64_t n = 0;
  Count& operator+=(const Count& o) {
    n += o.n;
    return *this;
  }
};

// A collector whose "map" is a plain std::map the test writes to.
class FakeCollector final : public nb::Collector {
 public:
  FakeCollector(std::string name, bool start_ok, std::map<std::uint64_t, Count>* map)
      : name_(std::move(name)), start_ok_(start_ok), map_(map) {}
  std::string_view name() const override { return name_; }
  nodepack::Result<void> start() override {
    if (!start_ok_) {
      return nodepack::fail("load BPF programs: Operation not permitted");
    }
    return {};
  }
  nodepack::Result<void> collect(const nb::ScrapeContext& ctx, std::vector<prometheus::MetricFamily>& out) override {
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
    auto f = nb::make_family("fake_events_total", "events", prometheus::MetricType::Counter);
    for (const auto& r : rows) {
      f.metric.push_back(nb::counter_metric(nb::pod_labels(r.id, ctx.node), static_cast<double>(r.value.n)));
    }
    out.push_back(std::move(f));
    return {};
  }
  bool fail_next = false;
  nodepack::ManualClock* clock = nullptr;

 private:
  std::string name_;
  bool start_ok_;
  std::map<std::uint64_t, Count>* map_;
  nb::PodSeries<Count> series_;
};

const prometheus::ClientMetric* find(const std::vector<prometheus::MetricFamily>& fams, const std::string& name,
                                     const std::string& label, const std::string& value) {
  for (const auto& f : fams) {
    if (f.name != name) {
      continue;
    }
    for (const auto& m : f.metric) {
      for (const auto& l : m.label) {
        if (l.name == label && l.value == value) {
          return &m;
        }
      }
    }
  }
  return nullptr;
}

const std::string kUid = "11111111-2222-3333-4444-555555555555";
const std::string kCid1(64, '1');
const std::string kCid2(64, '2');

}  // namespace

TEST_CASE("profiles nest and parse") {
  CHECK(nb::parse_profile("minimal").value() == nb::Profile::minimal);
  CHECK(nb::parse_profile("comprehensive").value() == nb::Profile::comprehensive);
  CHECK_FALSE(nb::parse_profile("custom").has_value());
  CHECK(nb::Profile::minimal < nb::Profile::standard);
}

TEST_CASE("registry: profile and flags choose collectors; a failing one is down, the rest run") {
  TempDir tmp;
  Pods pods;
  std::map<std::uint64_t, Count> map;
  FakeCollector* ok_ptr = nullptr;
  std::vector<nb::CollectorSpec> specs = {
      {"ok", nb::Profile::minimal, false,
       [&](const nb::CollectorDeps&) {
         auto c = std::make_unique<FakeCollector>("ok", true, &map);
         ok_ptr = c.get();
         return c;
       }},
      {"broken", nb::Profile::minimal, false,
       [&](const nb::CollectorDeps&) { return std::make_unique<FakeCollector>("broken", false, &map); }},
      {"heavy", nb::Profile::comprehensive, false,
       [&](const nb::CollectorDeps&) { return std::make_unique<FakeCollector>("heavy", true, &map); }},
      {"optin", nb::Profile::comprehensive, false,
       [&](const nb::CollectorDeps&) { return std::make_unique<FakeCollector>("optin", true, &map); }},
  };
  nodepack::ManualClock clock;
  nb::RegistryOptions opts;
  opts.node = "n1";
  opts.profile = nb::Profile::standard;
  opts.enable["optin"] = true;
  opts.clock = &clock;
  nb::CollectorRegistry reg(opts, std::make_unique<nb::CgroupResolver>(tmp.path, pods),
                            std::make_unique<nb::FixedFeatureProbe>(std::map<std::string, bool, std::less<>>{}), specs);
  reg.start();
  auto status = reg.status();
  CHECK(status == std::map<std::string, bool>{{"ok", true}, {"broken", false}, {"optin", true}});

  auto fams = reg.Collect();
  CHECK(find(fams, "nodepack_collector_up", "collector", "ok")->gauge.value == 1);
  CHECK(find(fams, "nodepack_collector_up", "collector", "broken")->gauge.value == 0);
  CHECK(find(fams, "nodepack_collector_errors_total", "collector", "broken")->counter.value == 1);
  CHECK(find(fams, "nodepack_collector_up", "collector", "heavy") == nullptr);
  CHECK(find(fams, "nodepack_collector_scrape_duration_seconds", "collector", "ok") != nullptr);
  CHECK(find(fams, "nodepack_collector_scrape_duration_seconds", "collector", "broken") == nullptr);

  ok_ptr->fail_next = true;
  ok_ptr->clock = &clock;
  fams = reg.Collect();
  CHECK(find(fams, "nodepack_collector_scrape_duration_seconds", "collector", "ok")->gauge.value == Approx(0.25));
  CHECK(find(fams, "nodepack_collector_errors_total", "collector", "ok")->counter.value == 1);
  CHECK(find(fams, "nodepack_collector_up", "collector", "ok")->gauge.value == 1);  // a bad scrape is not down
}

TEST_CASE("registry: counters survive a container restart and go with the pod") {
  TempDir tmp;
  Pods pods;
  pods.pods[kUid] = {"ns", "web", {{kCid1, "app"}, {kCid2, "app"}}};
  const fs::path pod = tmp.path / "kubepods/burstable" / ("pod" + kUid);
  fs::create_directories(pod / kCid1);
  std::map<std::uint64_t, Count> map;
  std::vector<nb::CollectorSpec> specs = {{"fake", nb::Profile::minimal, false, [&](const nb::CollectorDeps&) {
                                             return std::make_unique<FakeCollector>("fake", true, &map);
                                           }}};
  nb::RegistryOptions opts;
  opts.node = "n1";
  nb::CollectorRegistry reg(opts, std::make_unique<nb::CgroupResolver>(tmp.path, pods),
                            std::make_unique<nb::FixedFeatureProbe>(std::map<std::string, bool, std::less<>>{}), specs);
  reg.start();
  const auto first = ino(pod / kCid1);
  map[first].n = 10;
  CHECK(find(reg.Collect(), "fake_events_total", "container", "app")->counter.value == 10);

  // The container restarts: old cgroup gone, new one with a new id, same container name.
  map[first].n = 12;  // last events of the old container, not read yet
  // (new dir first: a plain filesystem would hand the old inode straight back; cgroup ids are not
  // reused that way)
  fs::create_directories(pod / kCid2);
  fs::remove(pod / kCid1);
  reg.rescan();
  const auto second = ino(pod / kCid2);
  map[second].n = 3;
  CHECK(find(reg.Collect(), "fake_events_total", "container", "app")->counter.value == 15);
  CHECK(map.count(first) == 0);  // the removed cgroup's entry was deleted after its last read
  map[second].n = 5;
  CHECK(find(reg.Collect(), "fake_events_total", "container", "app")->counter.value == 17);

  // The pod goes: exported once more with its final value, then never again.
  map[second].n = 6;
  fs::remove_all(tmp.path / "kubepods");
  pods.pods.clear();
  reg.rescan();
  CHECK(find(reg.Collect(), "fake_events_total", "container", "app")->counter.value == 18);
  CHECK(map.empty());
  CHECK(find(reg.Collect(), "fake_events_total", "container", "app") == nullptr);
  CHECK(reg.resolver().removed().empty());
}

TEST_CASE("registry: a BPF collector the kernel cannot take is down on its own, with the reason logged") {
  TempDir tmp;
  Pods pods;
  std::vector<nb::CollectorSpec> specs;
  for (const auto& s : nb::builtin_collectors()) {
    if (s.name == "sched" || s.name == "cgroupfs") {
      specs.push_back(s);
    }
  }
  REQUIRE(specs.size() == 2);
  nb::RegistryOptions opts;
  opts.node = "n1";
  opts.profile = nb::Profile::minimal;
  opts.enable["oom"] = false;
  // A kernel with neither tp_btf nor raw_tp: sched must fail before touching the kernel.
  nb::CollectorRegistry reg(opts, std::make_unique<nb::CgroupResolver>(tmp.path, pods),
                            std::make_unique<nb::FixedFeatureProbe>(std::map<std::string, bool, std::less<>>{}, false),
                            specs);
  reg.start();
  CHECK(reg.status() == std::map<std::string, bool>{{"sched", false}, {"cgroupfs", true}});
  auto fams = reg.Collect();
  CHECK(find(fams, "nodepack_collector_up", "collector", "sched")->gauge.value == 0);
  CHECK(find(fams, "nodepack_collector_errors_total", "collector", "sched")->counter.value == 1);
  CHECK(find(fams, "nodepack_collector_up", "collector", "cgroupfs")->gauge.value == 1);
  CHECK(find(fams, "nodepack_bpf_feature", "feature", "raw_tp")->gauge.value == 0);
  CHECK(find(fams, "nodepack_bpf_feature", "feature", "tp_btf:sched_switch")->gauge.value == 0);
  for (const auto& f : fams) {
    // no families from a collector that is down
    CHECK(f.name != "kpod_cpu_runqueue_latency_seconds");
    CHECK(f.name != "kpod_cpu_context_switches_total");
  }
}

TEST_CASE("registry: without cgroup v2 every collector is down and the registry still serves") {
  TempDir tmp;
  Pods pods;
  nb::RegistryOptions opts;
  opts.paths = nodepack::HostPaths::under(tmp.path);  // plain directories: no cgroup2 anywhere
  opts.node = "n1";
  opts.profile = nb::Profile::minimal;
  auto reg = nb::CollectorRegistry::create(opts, pods);
  REQUIRE(reg != nullptr);
  reg->start();
  auto status = reg->status();
  CHECK(status.size() == 3);  // sched, oom, cgroupfs
  for (const auto& [name, up] : status) {
    CHECK_FALSE(up);
  }
  reg->rescan();
  auto fams = reg.get()->Collect();
  CHECK(find(fams, "nodepack_collector_up", "collector", "sched")->gauge.value == 0);
  CHECK(find(fams, "nodepack_collector_errors_total", "collector", "cgroupfs")->counter.value == 1);
}
