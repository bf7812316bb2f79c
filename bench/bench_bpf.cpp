// User-space costs of the BPF collectors at scrape time.
#include "bpf/log2_hist.hpp"
#include "bpf/map_reader.hpp"
#include "cgroup/resolver.hpp"
#include "kpod/pod_series.hpp"
#include "kpod/scope/pod_scope.hpp"
#include "tests/support/fake_pods.hpp"

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <unordered_set>

namespace nb = nodepack::bpf;
namespace nc = nodepack::cgroup;
namespace nk = nodepack::kpod;
namespace fs = std::filesystem;

namespace {

std::string hex_id(int i, char fill) {
  std::string s(64, fill);
  auto n = std::to_string(i);
  s.replace(0, n.size(), n);
  return s;
}

std::string uid_of(int i) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%08d-0000-4000-8000-000000000000", i);
  return buf;
}

// A systemd-driver kubepods tree with `n` pods of two containers each.
struct Tree {
  fs::path root;
  nodepack::testing::FixedPodLookup pods;
  std::vector<std::uint64_t> ids;
  explicit Tree(int n) {
    root = fs::temp_directory_path() / ("nodepack-bench-" + std::to_string(::getpid()) + "-" + std::to_string(n));
    for (int i = 0; i < n; ++i) {
      std::string uid = uid_of(i);
      std::string u = uid;
      std::replace(u.begin(), u.end(), '-', '_');
      auto pod = root / "kubepods.slice/kubepods-burstable.slice" / ("kubepods-burstable-pod" + u + ".slice");
      nc::PodInfo info{"ns", "pod-" + std::to_string(i), {}};
      for (char c : {'a', 'b'}) {
        auto cid = hex_id(i, c);
        fs::create_directories(pod / ("cri-containerd-" + cid + ".scope"));
        info.containers[cid] = std::string("c") + c;
      }
      pods.add(uid, info);
    }
  }
  ~Tree() { fs::remove_all(root); }
};

void BM_HistogramExport(benchmark::State& state) {
  nb::Log2Hist h;
  for (std::size_t i = 0; i < NODEPACK_HIST_SLOTS; ++i) {
    h.slots[i] = i * 3;
  }
  for (auto _ : state) {
    auto f = nodepack::metrics::Family::histogram("h", "help");
    nb::add_log2_histogram(f, {{"namespace", "ns"}, {"pod", "p"}, {"node", "n"}}, h);
    benchmark::DoNotOptimize(f);
  }
}
BENCHMARK(BM_HistogramExport);

void BM_CgroupRescan(benchmark::State& state) {
  Tree tree(static_cast<int>(state.range(0)));
  nc::CgroupResolver r(tree.root, tree.pods);
  for (auto _ : state) {
    benchmark::DoNotOptimize(r.rescan());
  }
  state.SetLabel(std::to_string(state.range(0)) + " pods, " + std::to_string(state.range(0) * 3) + " cgroups");
}
BENCHMARK(BM_CgroupRescan)->Arg(100)->Arg(500)->Unit(benchmark::kMillisecond);

// One scrape's fold of a map with one entry per container cgroup, labels cached.
void BM_FoldScrape(benchmark::State& state) {
  Tree tree(static_cast<int>(state.range(0)));
  nc::CgroupResolver r(tree.root, tree.pods);
  r.rescan();
  struct V {
    nb::Log2Hist h;
    std::uint64_t n = 0;
    V& operator+=(const V& o) {
      h += o.h;
      n += o.n;
      return *this;
    }
  };
  std::vector<std::pair<std::uint64_t, V>> read;
  for (auto id : r.live_ids()) {
    read.emplace_back(id, V{});
  }
  nk::PodSeries<V> series;
  std::unordered_set<std::uint64_t> removed;
  std::string node = "n";
  const nk::PodScope scope;  // every pod tracked, as the default profile without filters
  const std::unordered_set<std::uint64_t> untracked;
  nk::ScrapeContext ctx{r, node, removed, scope, untracked};
  for (auto _ : state) {
    std::vector<std::uint64_t> drop;
    auto rows = series.fold(ctx, read, drop);
    benchmark::DoNotOptimize(rows);
  }
  state.SetLabel(std::to_string(read.size()) + " cgroups");
}
BENCHMARK(BM_FoldScrape)->Arg(100)->Arg(500)->Unit(benchmark::kMicrosecond);

// One scrape's read of a per-CPU hash map of `range(0)` cgroups and `range(2)` entries at most
// (the collectors' maps held 10,240, now 4,096: the kernel walks every bucket whatever the map
// holds), a batch of keys per system call (range(1) = 1) or a key at a time (0). Needs the BPF
// syscall (root).
void BM_ReadPerCpuMap(benchmark::State& state) {
  struct Value {
    std::uint64_t count, sum, min, max;
  };
  const int fd = bpf_map_create(BPF_MAP_TYPE_PERCPU_HASH, "bench_map", sizeof(std::uint64_t), sizeof(Value),
                                static_cast<std::uint32_t>(state.range(2)), nullptr);
  if (fd < 0) {
    state.SkipWithError("bpf_map_create failed: needs root and the BPF syscall");
    return;
  }
  std::vector<Value> per_cpu(static_cast<std::size_t>(nb::possible_cpus()), Value{1, 2, 3, 4});
  for (std::uint64_t id = 1; id <= static_cast<std::uint64_t>(state.range(0)); ++id) {
    bpf_map_update_elem(fd, &id, per_cpu.data(), BPF_ANY);
  }
  const std::size_t value_bytes = per_cpu.size() * sizeof(Value);
  std::uint64_t seen = 0;
  auto visit = [&](const std::uint64_t&, const unsigned char*) { ++seen; };
  for (auto _ : state) {
    if (state.range(1) == 1) {
      nb::detail::visit_in_batches<std::uint64_t>(fd, value_bytes, visit);
    } else {
      nb::detail::visit_key_at_a_time<std::uint64_t>(fd, value_bytes, visit);
    }
  }
  ::close(fd);
  benchmark::DoNotOptimize(seen);
  state.SetLabel(state.range(1) == 1 ? "batches" : "key at a time");
}
BENCHMARK(BM_ReadPerCpuMap)
    ->ArgsProduct({{100, 1000, 5000}, {1, 0}, {10240}})
    ->ArgsProduct({{100, 1000}, {1}, {4096}})
    ->Unit(benchmark::kMicrosecond);

// One scrape's read of sched's slots: the first `range(0)` indices of a per-CPU array of 2,048
// values of sched's size, an index per system call (range(1) = 0, how they were read) or a batch
// of indices per call (1). Needs root.
void BM_ReadSlots(benchmark::State& state) {
  struct Value {
    std::uint64_t words[40];  // 320 bytes, as sched_cg_stats
  };
  const int fd =
      bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "bench_slots", sizeof(std::uint32_t), sizeof(Value), 2048, nullptr);
  if (fd < 0) {
    state.SkipWithError("bpf_map_create failed: needs root and the BPF syscall");
    return;
  }
  const auto used = static_cast<std::uint32_t>(state.range(0));
  std::vector<Value> per_cpu(static_cast<std::size_t>(nb::possible_cpus()));
  std::uint64_t sum = 0;
  // range(1) = 2: as many indices spread over the whole array (a cgroup's slot is its id's low
  // bits), read in runs of neighbours.
  std::vector<std::uint32_t> spread;
  for (std::uint32_t k = 0; k < used; ++k) {
    spread.push_back(static_cast<std::uint32_t>((std::uint64_t{k} * 2048) / used + (k * 7919) % 3) % 2048);
  }
  std::sort(spread.begin(), spread.end());
  spread.erase(std::unique(spread.begin(), spread.end()), spread.end());
  for (auto _ : state) {
    if (state.range(1) == 1) {
      for (const auto& value : nb::read_percpu_array_prefix<Value>(fd, used)) {
        sum += value.words[0];
      }
    } else if (state.range(1) == 2) {
      for (const auto& value : nb::read_percpu_array_indices<Value>(fd, spread)) {
        sum += value.words[0];
      }
    } else {
      for (std::uint32_t index = 0; index < used; ++index) {
        if (bpf_map_lookup_elem(fd, &index, per_cpu.data()) == 0) {
          sum += per_cpu.front().words[0];
        }
      }
    }
  }
  ::close(fd);
  benchmark::DoNotOptimize(sum);
  state.SetLabel(state.range(1) == 1   ? "batches"
                 : state.range(1) == 2 ? "spread, runs of neighbours"
                                       : "index at a time");
}
BENCHMARK(BM_ReadSlots)->ArgsProduct({{100, 400, 1500}, {0, 1, 2}})->Unit(benchmark::kMicrosecond);

}  // namespace
