// NUMA module micro benchmarks: topology discovery from a fixture, checkpoint parse+verify,
// and a full refresh of the agent's NUMA state. Linked with benchmark::benchmark_main.
#include "numa/checkpoint.hpp"
#include "numa/collector.hpp"
#include "numa/numa_state.hpp"
#include "numa/topology.hpp"

#include <benchmark/benchmark.h>

#include <unistd.h>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace {

namespace fs = std::filesystem;
using namespace nodepack::numa;

// The repository's tests/fixtures, compiled in; NODEPACK_FIXTURES overrides it for a moved tree.
fs::path fixtures() {
  if (const char* env = std::getenv("NODEPACK_FIXTURES"); env != nullptr) {
    return env;
  }
  return NODEPACK_FIXTURES;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void spit(const fs::path& p, const std::string& s) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary | std::ios::trunc) << s;
}

// One unpacked copy per process, shared by every benchmark.
const fs::path& fixture_root() {
  static const fs::path root = [] {
    std::string tmpl = (fs::temp_directory_path() / "nodepack-bench-numa-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      throw std::runtime_error("mkdtemp");
    }
    const auto tarball = fixtures() / "hwloc/48amd64-4pa2n6c-sparse.tar.bz2";
    if (std::system(("tar -xjf '" + tarball.string() + "' -C '" + tmpl + "'").c_str()) != 0) {
      throw std::runtime_error("cannot unpack " + tarball.string());
    }
    std::system(("chmod -R u+w '" + tmpl + "'").c_str());
    const fs::path r = fs::path(tmpl) / "48amd64-4d2n6c-sparse";
    const fs::path kubelet = r / "var/lib/kubelet";
    spit(kubelet / "cpu_manager_state",
         slurp(fixtures() / "kubelet/cpu_manager_state.k8s-unittest.v3-podentries.json"));
    spit(kubelet / "memory_manager_state", slurp(fixtures() / "kubelet/memory_manager_state.k8s-unittest.v1.json"));
    spit(kubelet / "device-plugins/kubelet_internal_checkpoint",
         slurp(fixtures() / "kubelet/kubelet_internal_checkpoint.kind-tegra.numa-minus1.json"));
    return r;
  }();
  return root;
}

// A busy node: `pods` pods with two pinned containers each (checksum not verifiable: the
// benchmark measures the full layout search that a mismatch costs).
std::string synthetic_cpu_state(int pods) {
  std::string s = R"({"policyName":"static","defaultCpuSet":"0-1","entries":{)";
  for (int i = 0; i < pods; ++i) {
    if (i > 0) {
      s += ',';
    }
    s += "\"pod-";
    s += std::to_string(i);
    s += R"(-0000-0000-0000-000000000000":{"app":")";
    s += std::to_string(2 + 2 * (i % 100));
    s += '-';
    s += std::to_string(3 + 2 * (i % 100));
    s += R"(","sidecar":")";
    s += std::to_string(200 + i % 50);
    s += "\"}";
  }
  return s + R"(},"checksum":12345})";
}

void BM_TopologyLoadFixture(benchmark::State& state) {
  const auto paths = nodepack::HostPaths::under(fixture_root());
  for (auto _ : state) {
    auto topo = load_topology(paths);
    if (!topo) {
      state.SkipWithError(topo.error().message.c_str());
      break;
    }
    benchmark::DoNotOptimize(topo->nodes.size());
  }
}
BENCHMARK(BM_TopologyLoadFixture)->Unit(benchmark::kMillisecond);

void BM_ParseCpuManagerStateV2(benchmark::State& state) {
  const std::string text = slurp(fixtures() / "kubelet/cpu_manager_state.static.24cpu-ht-pair.v2.json");
  for (auto _ : state) {
    auto st = parse_cpu_manager_state(text);
    benchmark::DoNotOptimize(st->checksum.status);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_ParseCpuManagerStateV2);

void BM_ParseCpuManagerStateLarge(benchmark::State& state) {
  const std::string text = synthetic_cpu_state(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    auto st = parse_cpu_manager_state(text);
    benchmark::DoNotOptimize(st->entries.size());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_ParseCpuManagerStateLarge)->Arg(10)->Arg(100)->Arg(1000);

void BM_ParseMemoryManagerStateDocs(benchmark::State& state) {
  // Verifies under no layout: the worst case, all twelve renderings.
  const std::string text = slurp(fixtures() / "kubelet/memory_manager_state.k8s-docs.2numa.pretty.json");
  for (auto _ : state) {
    auto st = parse_memory_manager_state(text);
    benchmark::DoNotOptimize(st->checksum.status);
  }
}
BENCHMARK(BM_ParseMemoryManagerStateDocs);

void BM_ParseDeviceCheckpoint(benchmark::State& state) {
  const std::string text = slurp(fixtures() / "kubelet/kubelet_internal_checkpoint.kind-tegra.numa-minus1.json");
  for (auto _ : state) {
    auto cp = parse_device_checkpoint(text);
    benchmark::DoNotOptimize(cp->checksum.status);
  }
}
BENCHMARK(BM_ParseDeviceCheckpoint);

NumaOptions bench_options() {
  NumaOptions o;
  o.paths = nodepack::HostPaths::under(fixture_root());
  o.node_name = "bench";
  return o;
}

// Files unchanged since the last read: read, compare, rebuild the model, publish.
void BM_RefreshUnchanged(benchmark::State& state) {
  NumaState numa(bench_options(), nodepack::SystemClock::instance());
  (void)numa.load_topology();
  numa.refresh();
  for (auto _ : state) {
    benchmark::DoNotOptimize(numa.refresh());
  }
}
BENCHMARK(BM_RefreshUnchanged);

// The kubelet rewrote the CPU manager state: parse, verify, rebuild, publish, then a scrape.
void BM_RefreshChangedAndCollect(benchmark::State& state) {
  NumaState numa(bench_options(), nodepack::SystemClock::instance());
  (void)numa.load_topology();
  const fs::path target = fixture_root() / "var/lib/kubelet/cpu_manager_state";
  const std::string a = slurp(fixtures() / "kubelet/cpu_manager_state.k8s-unittest.v3-podentries.json");
  const std::string b = slurp(fixtures() / "kubelet/cpu_manager_state.k8s-unittest.v3name-emptypodentries.json");
  NumaCollector collector(numa, VersionInfo{});
  bool flip = false;
  for (auto _ : state) {
    state.PauseTiming();
    spit(target.parent_path() / ".bench-tmp", flip ? a : b);
    fs::rename(target.parent_path() / ".bench-tmp", target);
    flip = !flip;
    state.ResumeTiming();
    benchmark::DoNotOptimize(numa.refresh());
    benchmark::DoNotOptimize(collector.Collect().size());
  }
}
BENCHMARK(BM_RefreshChangedAndCollect);

}  // namespace
