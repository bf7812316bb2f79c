// Kernel-side cost of nodepack's sched programs per event, under a scheduler-heavy load, next to
// a bpftrace runqlat equivalent measured the same way in the same run.
//
//   bench_bpf_overhead [--seconds N] [--pairs N] [--syscalls] [--ablation] [--bpftrace PATH --script FILE]
//   bench_bpf_overhead --stats-cost ROUNDS [--seconds N] [--pairs N]
//
// Phases, each running the same load (N pairs of processes ping-ponging a byte over pipes, so
// every round trip is two wake-ups and two context switches): no tracing, nodepack's sched
// collector, (with --syscalls) nodepack's syscall collector, bpftrace. Kernel BPF run-time stats stay on for the whole
// run (the stats fd is held here), so ns/event = run_time_ns / run_cnt of each program, read with
// BPF_OBJ_GET_INFO_BY_FD. An empty sched_switch program runs first, alone, for the floor every
// figure stands on; --ablation adds one phase per step of the switch program (sched_ablation.bpf.c).
//
// --stats-cost asks what the run-time statistics themselves cost, which they cannot measure (the
// kernel reads its clock twice around every run of every BPF program on the host while any
// holder keeps them on): the load's rate untraced, with an empty switch program and with the
// sched collector, each with statistics off and on, phases rotated each round and compared with
// the same round's untraced rate.
#include "bench/round_stats.hpp"
#include "bpf/bpf_stats.hpp"
#include "bpf/feature_probe.hpp"
#include "bpf/sched/sched_collector.hpp"
#include "bpf/syscall/syscall_collector.hpp"
#include "bpf/syscall/syscall_names.hpp"
#include "cgroup/v2_root.hpp"

#include "sched_ablation.skel.h"

#include <bpf/bpf.h>
#include <fcntl.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace nb = nodepack::bpf;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  int seconds = 5;
  int pairs = 2;
  std::string bpftrace;
  std::string script;
  bool syscalls = false;
  bool ablation = false;
  std::string only;  // --only PREFIX: ablation programs whose name starts with it, and nothing else
  int stats_cost_rounds = 0;
};

// The cgroup the load runs in (empty: the bench's own). Children move themselves into it.
std::string g_load_cgroup;

void join_load_cgroup() {
  if (!g_load_cgroup.empty()) {
    if (FILE* f = std::fopen((g_load_cgroup + "/cgroup.procs").c_str(), "w")) {
      std::fputs("0", f);
      std::fclose(f);
    }
  }
}

// Runs the ping-pong load for `seconds`; returns round trips per second.
double run_load(const Options& o) {
  std::vector<pid_t> pids;
  int counts[2];
  if (::pipe(counts) != 0) {
    return 0;
  }
  for (int p = 0; p < o.pairs; ++p) {
    int ab[2], ba[2];
    if (::pipe(ab) != 0 || ::pipe(ba) != 0) {
      return 0;
    }
    pid_t a = ::fork();
    if (a == 0) {
      join_load_cgroup();
      char c = 0;
      auto end = Clock::now() + std::chrono::seconds(o.seconds);
      std::uint64_t n = 0;
      while (Clock::now() < end) {
        if (::write(ab[1], &c, 1) != 1 || ::read(ba[0], &c, 1) != 1) {
          break;
        }
        ++n;
      }
      c = 1;  // tell the echo side to stop
      ::write(ab[1], &c, 1);
      ::write(counts[1], &n, sizeof(n));
      ::_exit(0);
    }
    pid_t b = ::fork();
    if (b == 0) {
      join_load_cgroup();
      char c = 0;
      while (::read(ab[0], &c, 1) == 1 && c == 0) {
        ::write(ba[1], &c, 1);
      }
      ::_exit(0);
    }
    ::close(ab[0]);
    ::close(ab[1]);
    ::close(ba[0]);
    ::close(ba[1]);
    pids.push_back(a);
    pids.push_back(b);
  }
  std::uint64_t total = 0;
  for (int p = 0; p < o.pairs; ++p) {
    std::uint64_t n = 0;
    if (::read(counts[0], &n, sizeof(n)) == sizeof(n)) {
      total += n;
    }
  }
  for (pid_t p : pids) {
    ::waitpid(p, nullptr, 0);
  }
  ::close(counts[0]);
  ::close(counts[1]);
  return static_cast<double>(total) / o.seconds;
}

struct ProgInfo {
  std::string name;
  std::uint64_t run_cnt = 0, run_time_ns = 0;
};

std::map<std::uint32_t, ProgInfo> all_programs() {
  std::map<std::uint32_t, ProgInfo> out;
  std::uint32_t id = 0;
  while (bpf_prog_get_next_id(id, &id) == 0) {
    int fd = bpf_prog_get_fd_by_id(id);
    if (fd < 0) {
      continue;
    }
    bpf_prog_info info{};
    std::uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) {
      out[id] = {info.name, info.run_cnt, info.run_time_ns};
    }
    ::close(fd);
  }
  return out;
}

void report(const char* who, const std::vector<ProgInfo>& before, const std::vector<ProgInfo>& after, double rate,
            double baseline) {
  std::uint64_t cnt = 0, ns = 0;
  std::printf("%s:\n", who);
  for (std::size_t i = 0; i < after.size(); ++i) {
    std::uint64_t c = after[i].run_cnt - (i < before.size() ? before[i].run_cnt : 0);
    std::uint64_t t = after[i].run_time_ns - (i < before.size() ? before[i].run_time_ns : 0);
    cnt += c;
    ns += t;
    std::printf("  %-24s runs %12llu  ns/run %7.1f\n", after[i].name.c_str(), static_cast<unsigned long long>(c),
                c ? static_cast<double>(t) / static_cast<double>(c) : 0.0);
  }
  std::printf("  %-24s runs %12llu  ns/run %7.1f\n", "all programs", static_cast<unsigned long long>(cnt),
              cnt ? static_cast<double>(ns) / static_cast<double>(cnt) : 0.0);
  std::printf("  load: %.0f round trips/s (%.1f%% of untraced)\n", rate, baseline > 0 ? 100.0 * rate / baseline : 0.0);
}

ProgInfo stats_of(const bpf_program* prog) {
  bpf_prog_info info{};
  std::uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len) != 0) {
    return {bpf_program__name(prog)};
  }
  return {bpf_program__name(prog), info.run_cnt, info.run_time_ns};
}

// The programs of sched_ablation.bpf.c: abl_empty attached for the whole time, and (with `all`)
// every other one after it for one phase each, so that each step's cost above the floor comes
// from one set of events (the same switches, the same mix of cross-CPU wake-ups and idle).
bool measure_ablation(const Options& o, bool all, double baseline) {
  sched_ablation_bpf* skel = sched_ablation_bpf::open_and_load();
  if (skel == nullptr) {
    std::fprintf(stderr, "ablation programs did not load: %s\n", std::strerror(errno));
    return false;
  }
  bpf_link* floor = bpf_program__attach(skel->progs.abl_empty);
  bpf_program* prog = nullptr;
  bpf_object__for_each_program(prog, skel->obj) {
    const std::string name = bpf_program__name(prog);
    if (prog == skel->progs.abl_empty ? !o.only.empty() && !name.starts_with(o.only)
                                      : !all || !name.starts_with(o.only)) {
      continue;
    }
    bpf_link* link = prog == skel->progs.abl_empty ? nullptr : bpf_program__attach(prog);
    if (prog != skel->progs.abl_empty && link == nullptr) {
      std::fprintf(stderr, "%s did not attach: %s\n", name.c_str(), std::strerror(errno));
      continue;
    }
    const std::vector<ProgInfo> before{stats_of(skel->progs.abl_empty), stats_of(prog)};
    const double rate = run_load(o);
    const std::vector<ProgInfo> after{stats_of(skel->progs.abl_empty), stats_of(prog)};
    bpf_link__destroy(link);
    const auto ns = [&](std::size_t i) {
      const auto c = after[i].run_cnt - before[i].run_cnt;
      return c ? static_cast<double>(after[i].run_time_ns - before[i].run_time_ns) / static_cast<double>(c) : 0.0;
    };
    std::printf(
        "ablation %-28s runs %10llu  ns/run %6.1f  empty in the same phase %6.1f  above it %6.1f  (load %.0f/s)\n",
        name.c_str(), static_cast<unsigned long long>(after[1].run_cnt - before[1].run_cnt), ns(1), ns(0),
        ns(1) - ns(0), rate);
  }
  bpf_link__destroy(floor);
  sched_ablation_bpf::destroy(skel);
  (void)baseline;
  return true;
}

// The --stats-cost phases. CPU time per round trip (all CPUs busy: CPUs / rate) against the same
// round's untraced figure is what a phase adds per round trip; divided by the switch program's
// runs per round trip (counted in the statistics-on phases) it is a cost per run.
int measure_stats_cost(const Options& o) {
  struct StatsPhase {
    const char* name;
    int programs;  // 0 none, 1 an empty switch program, 2 the sched collector (sched_slots)
    bool stats;
    std::vector<double> rates, extra_ns;  // round trips/s; CPU ns per round trip above untraced
    std::uint64_t runs = 0;
    double round_trips = 0;
  };
  std::vector<StatsPhase> phases{{"untraced", 0, false},
                                 {"empty switch program, statistics off", 1, false},
                                 {"empty switch program, statistics on", 1, true},
                                 {"sched collector (sched_slots), statistics off", 2, false},
                                 {"sched collector (sched_slots), statistics on", 2, true}};
  const double cpus = std::thread::hardware_concurrency();
  for (int round = 0; round < o.stats_cost_rounds; ++round) {
    std::vector<double> rate(phases.size());
    for (std::size_t k = 0; k < phases.size(); ++k) {
      const std::size_t i = (k + static_cast<std::size_t>(round)) % phases.size();
      auto& ph = phases[i];
      std::optional<nodepack::Result<nb::BpfStatsSession>> stats;
      if (ph.stats) {
        stats.emplace(nb::BpfStatsSession::enable());
        if (!*stats) {
          std::fprintf(stderr, "cannot enable BPF run-time stats: %s\n", (*stats).error().message.c_str());
          return 1;
        }
      }
      std::vector<std::pair<const bpf_program*, ProgInfo>> watched;
      sched_ablation_bpf* skel = nullptr;
      bpf_link* empty = nullptr;
      std::optional<nb::KernelFeatureProbe> probe;
      std::optional<nb::SchedCollector> sched;
      if (ph.programs == 1) {
        skel = sched_ablation_bpf::open_and_load();
        empty = skel ? bpf_program__attach(skel->progs.abl_empty) : nullptr;
        if (empty == nullptr) {
          std::fprintf(stderr, "empty program did not attach: %s\n", std::strerror(errno));
          return 1;
        }
        watched.emplace_back(skel->progs.abl_empty, stats_of(skel->progs.abl_empty));
      } else if (ph.programs == 2) {
        probe.emplace();
        sched.emplace(*probe, nb::SchedOptions{nb::SchedPreference::slots});
        if (auto r = sched->start(); !r) {
          std::fprintf(stderr, "nodepack sched collector did not load: %s\n", r.error().message.c_str());
          return 1;
        }
      }
      const auto runs_now = [&] {
        std::uint64_t n = 0;
        for (const auto& [prog, info] : watched) {
          n += stats_of(prog).run_cnt;
        }
        if (sched) {
          for (const auto& p : sched->program_stats()) {
            n += p.run_count;
          }
        }
        return n;
      };
      const auto before = runs_now();
      rate[i] = run_load(o);
      ph.runs += runs_now() - before;
      ph.round_trips += rate[i] * o.seconds;
      ph.rates.push_back(rate[i]);
      if (empty != nullptr) {
        bpf_link__destroy(empty);
      }
      if (skel != nullptr) {
        sched_ablation_bpf::destroy(skel);
      }
    }
    for (std::size_t i = 0; i < phases.size(); ++i) {
      if (rate[i] > 0 && rate[0] > 0) {
        phases[i].extra_ns.push_back(cpus * 1e9 / rate[i] - cpus * 1e9 / rate[0]);
      }
    }
  }
  std::printf("%d rounds, phases rotated; CPU ns per round trip = %.0f CPUs / rate\n\n", o.stats_cost_rounds, cpus);
  std::printf(
      "| phase | round trips/s, mean (min–max) | CPU ns per round trip above untraced, same round: mean ± sd | "
      "switch program runs per round trip |\n|---|---|---|---|\n");
  for (const auto& ph : phases) {
    const auto [lo, hi] = std::minmax_element(ph.rates.begin(), ph.rates.end());
    char extra[48] = "-", runs[16] = "-";  // runs are counted only while the statistics are on
    if (ph.programs != 0) {
      std::snprintf(extra, sizeof(extra), "%.0f ± %.0f", nodepack::bench::mean(ph.extra_ns),
                    nodepack::bench::stddev(ph.extra_ns));
    }
    if (ph.stats && ph.round_trips > 0) {
      std::snprintf(runs, sizeof(runs), "%.2f", static_cast<double>(ph.runs) / ph.round_trips);
    }
    std::printf("| %s | %.0f (%.0f–%.0f) | %s | %s |\n", ph.name, nodepack::bench::mean(ph.rates), *lo, *hi, extra,
                runs);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--syscalls" || k == "--ablation") {
      (k == "--syscalls" ? o.syscalls : o.ablation) = true;
      --i;
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "option %s needs a value\n", k.c_str());
      return 2;
    }
    if (k == "--seconds") {
      o.seconds = std::atoi(argv[i + 1]);
    } else if (k == "--pairs") {
      o.pairs = std::atoi(argv[i + 1]);
    } else if (k == "--bpftrace") {
      o.bpftrace = argv[i + 1];
    } else if (k == "--only") {
      o.only = argv[i + 1];
    } else if (k == "--script") {
      o.script = argv[i + 1];
    } else if (k == "--stats-cost") {
      o.stats_cost_rounds = std::atoi(argv[i + 1]);
    } else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  spdlog::set_level(spdlog::level::warn);
  if (o.stats_cost_rounds > 0) {
    std::printf("load: %d ping-pong pairs, %d s per phase, %u CPUs\n", o.pairs, o.seconds,
                std::thread::hardware_concurrency());
    return measure_stats_cost(o);
  }
  auto stats = nb::BpfStatsSession::enable();
  if (!stats) {
    std::fprintf(stderr, "cannot enable BPF run-time stats: %s\n", stats.error().message.c_str());
    return 1;
  }
  std::printf("load: %d ping-pong pairs, %d s per phase, %u CPUs\n", o.pairs, o.seconds,
              std::thread::hardware_concurrency());

  const double baseline = run_load(o);
  std::printf("untraced: %.0f round trips/s\n", baseline);
  measure_ablation(o, o.ablation, baseline);
  if (!o.only.empty()) {
    return 0;
  }

  auto to_info = [](const std::vector<nodepack::kpod::ProgramStats>& s) {
    std::vector<ProgInfo> v;
    for (const auto& p : s) {
      v.push_back({p.program, p.run_count, p.run_time_ns});
    }
    return v;
  };
  // The load runs in a cgroup of its own, like a pod's container (given its array slot where
  // the variant has slots). Then each fallback variant, with the same load.
  if (auto root = nodepack::cgroup::find_cgroup2_root(nodepack::HostPaths{})) {
    g_load_cgroup = (*root / ("nodepack-bench-" + std::to_string(::getpid()))).string();
    if (::mkdir(g_load_cgroup.c_str(), 0755) != 0) {
      g_load_cgroup.clear();
    }
  }
  struct stat load_st {};
  const bool have_cgroup = !g_load_cgroup.empty() && ::stat(g_load_cgroup.c_str(), &load_st) == 0;
  std::printf("load cgroup: %s\n", have_cgroup ? g_load_cgroup.c_str() : "(the bench's own)");
  {
    // The collector as the agent starts it (--kpod.sched.variant=auto), the load running while it
    // measures the two scheduler-stamp variants side by side.
    nb::KernelFeatureProbe probe;
    nb::SchedOptions options;
    if (have_cgroup) {
      options.slot_dirs.push_back(g_load_cgroup);  // as the agent gives pod cgroups theirs
    }
    nb::SchedCollector sched(probe, options);
    Options during = o;
    during.seconds = 2;
    std::thread load([&] { run_load(during); });
    auto started = sched.start();
    load.join();
    if (!started) {
      std::fprintf(stderr, "nodepack sched collector did not load: %s\n", started.error().message.c_str());
      return 1;
    }
    const auto& c = sched.calibration();
    std::printf("calibration at start-up: %s (%s)\n", std::string(sched.variant()).c_str(),
                c ? c->why.c_str() : "not run");
    auto before = to_info(sched.program_stats());
    const double rate = run_load(o);
    auto after = to_info(sched.program_stats());
    report(("nodepack sched as the agent starts it, calibrated: " + std::string(sched.variant())).c_str(), before,
           after, rate, baseline);
  }
  std::string last_variant;
  for (auto preference : {nb::SchedPreference::slots, nb::SchedPreference::info, nb::SchedPreference::classic}) {
    nb::KernelFeatureProbe probe;
    nb::SchedCollector sched(probe, nb::SchedOptions{preference});
    if (auto r = sched.start(); !r) {
      std::fprintf(stderr, "nodepack sched collector did not load: %s\n", r.error().message.c_str());
      return 1;
    }
    if (sched.variant() == last_variant) {
      continue;  // the kernel had no better variant
    }
    last_variant = sched.variant();
    const bool slot = have_cgroup && sched.give_slot(load_st.st_ino);
    auto before = to_info(sched.program_stats());
    double rate = run_load(o);
    auto after = to_info(sched.program_stats());
    const std::string who = "nodepack sched, variant " + last_variant + (slot ? " (load cgroup has a slot)" : "") +
                            " (per-cgroup run-queue histogram + context switches)";
    report(who.c_str(), before, after, rate, baseline);
  }
  if (have_cgroup) {
    ::rmdir(g_load_cgroup.c_str());
  }
  if (o.syscalls) {
    // The load's read/write calls are in the default tracked set: every syscall of the load pays
    // sys_enter + sys_exit with a histogram update; untracked ones pay one array lookup.
    nb::KernelFeatureProbe probe;
    nb::SyscallCollector sys(probe, nb::default_tracked_syscalls());
    if (auto r = sys.start(); !r) {
      std::fprintf(stderr, "nodepack syscall collector did not load: %s\n", r.error().message.c_str());
      return 1;
    }
    auto before = to_info(sys.program_stats());
    double rate = run_load(o);
    auto after = to_info(sys.program_stats());
    report("nodepack syscall (default tracked set, per-cgroup per-syscall histogram)", before, after, rate, baseline);
  }

  if (!o.bpftrace.empty()) {
    auto existing = all_programs();
    pid_t bt = ::fork();
    if (bt == 0) {
      int devnull = ::open("/dev/null", O_WRONLY);
      ::dup2(devnull, 1);
      ::execl(o.bpftrace.c_str(), "bpftrace", o.script.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    // Wait until bpftrace's programs are loaded and attached (their set stops growing).
    std::set<std::uint32_t> mine;
    auto deadline = Clock::now() + std::chrono::seconds(60);
    std::size_t stable = 0;
    while (Clock::now() < deadline && stable < 10) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      std::set<std::uint32_t> now;
      for (const auto& [id, info] : all_programs()) {
        if (!existing.contains(id)) {
          now.insert(id);
        }
      }
      stable = (!now.empty() && now == mine) ? stable + 1 : 0;
      mine = now;
      int st = 0;
      if (::waitpid(bt, &st, WNOHANG) == bt) {
        std::fprintf(stderr, "bpftrace exited early (status %d)\n", st);
        return 1;
      }
    }
    auto snapshot = [&] {
      auto all = all_programs();
      std::vector<ProgInfo> v;
      for (auto id : mine) {
        v.push_back(all[id]);
      }
      return v;
    };
    auto before = snapshot();
    double rate = run_load(o);
    auto after = snapshot();
    report("bpftrace runqlat equivalent (global histogram)", before, after, rate, baseline);
    ::kill(bt, SIGINT);
    ::waitpid(bt, nullptr, 0);
  }
  return 0;
}
