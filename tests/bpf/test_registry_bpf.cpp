// The registry with the BPF collectors in it, as the agent runs it: a collector the kernel cannot
// take is down on its own; without cgroup v2 everything is down and the registry still serves.
#include "bpf/runtime.hpp"
#include "tests/bpf/bpf_registry.hpp"
#include "tests/support/temp_dir.hpp"

#include <catch2/catch.hpp>

namespace nb = nodepack::bpf;
namespace nk = nodepack::kpod;
using namespace nodepack::testing;

TEST_CASE("registry: a BPF collector the kernel cannot take is down on its own, with the reason logged") {
  TempDir tmp;
  FixedPodLookup pods;
  // A kernel with neither tp_btf nor raw_tp: sched must fail before touching the kernel.
  auto runtime = std::make_shared<nb::BpfRuntime>(
      std::make_unique<nb::FixedFeatureProbe>(std::map<std::string, bool, std::less<>>{}, false));
  auto specs = pick_specs(runtime->collectors(), {"sched"});
  specs.push_back(pick_specs(nk::file_collectors(), {"cgroupfs"}).front());
  nk::RegistryOptions opts;
  opts.collectors.node = "n1";
  opts.profile = nk::Profile::minimal;
  opts.enable["oom"] = false;
  TestRegistry reg(opts, tmp.path(), pods, specs, runtime);
  reg->start();
  CHECK(reg->status() == std::map<std::string, bool>{{"sched", false}, {"cgroupfs", true}});
  auto fams = reg->Collect();
  for (auto& f : runtime->Collect()) {
    fams.push_back(std::move(f));  // the agent serves both
  }
  CHECK(find_metric(fams, "nodepack_collector_up", {{"collector", "sched"}})->gauge.value == 0);
  CHECK(find_metric(fams, "nodepack_collector_errors_total", {{"collector", "sched"}})->counter.value == 1);
  CHECK(find_metric(fams, "nodepack_collector_up", {{"collector", "cgroupfs"}})->gauge.value == 1);
  CHECK(find_metric(fams, "nodepack_bpf_feature", {{"feature", "raw_tp"}})->gauge.value == 0);
  CHECK(find_metric(fams, "nodepack_bpf_feature", {{"feature", "tp_btf:sched_switch"}})->gauge.value == 0);
  for (const auto& f : fams) {
    // no families from a collector that is down
    CHECK(f.name != "kpod_cpu_runqueue_latency_seconds");
    CHECK(f.name != "kpod_cpu_context_switches_total");
  }
}

TEST_CASE("registry: without cgroup v2 every collector is down and the registry still serves") {
  TempDir tmp;
  FixedPodLookup pods;
  nk::RegistryOptions opts;
  opts.collectors.paths = nodepack::HostPaths::under(tmp.path());  // plain directories: no cgroup2 anywhere
  opts.collectors.node = "n1";
  opts.profile = nk::Profile::minimal;
  auto resolver = nodepack::cgroup::CgroupResolver::create(opts.collectors.paths, pods);
  REQUIRE_FALSE(resolver.has_value());
  nb::BpfRuntime runtime(std::make_unique<nb::KernelFeatureProbe>());
  auto specs = runtime.collectors();
  for (auto& s : nk::file_collectors()) {
    specs.push_back(std::move(s));
  }
  auto reg = std::make_unique<nk::CollectorRegistry>(opts, nullptr, specs, resolver.error().message);
  reg->start();
  auto status = reg->status();
  CHECK(status.size() == 3);  // sched, oom, cgroupfs
  for (const auto& [name, up] : status) {
    CHECK_FALSE(up);
  }
  reg->rescan();
  auto fams = reg.get()->Collect();
  CHECK(find_metric(fams, "nodepack_collector_up", {{"collector", "sched"}})->gauge.value == 0);
  CHECK(find_metric(fams, "nodepack_collector_errors_total", {{"collector", "cgroupfs"}})->counter.value == 1);
}
