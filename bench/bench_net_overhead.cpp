// What the per-packet network collectors cost: loopback TCP throughput (iperf3) between two
// pod-shaped cgroups with no collector loaded, with each collector alone, and with all of them,
// in one run; and each program's kernel run time per run from the BPF run-time statistics, on
// iperf3's bulk traffic and, with --http-seconds, on small keep-alive HTTP requests.
//
//   bench_net_overhead --iperf3 PATH [--seconds N] [--rounds N] [--collectors tcp,topology,dns,http|-]
//                      [--together-only 1]   (baseline and all collectors only: more rounds per minute)
//                      [--udp-datagrams N]   (after each transfer, N datagrams sendto -> recvfrom; 200000)
//                      [--http-seconds N]    (after each transfer, N s of HTTP requests: req/s, ns per run)
//                      [--objects name=file.bpf.o,...]  (a phase per object: its cgroup_skb programs
//                                             attached as they are, e.g. a collector built at two commits)
//                      [--empty 1]           (a phase with cgroup_skb programs that return at once)
//                      [--pin 1|same]        (iperf3 and the HTTP load: server on CPU 0, client on CPU 1;
//                                             same: both on CPU 1)
//                      [--stats-off 1]       (a phase with every collector and the kernel's run-time
//                                             statistics off: what they cost every BPF program on the
//                                             node; its programs' ns per run are not known, hence blank)
//
// Phases take turns, their order rotated each round, so drift on a shared machine spreads over
// all of them; each phase is also compared with the baseline of its own round (paired).
// Needs root, the BPF syscall and a cgroup v2 tree (hybrid hosts: its `unified` mount).
#include "bench/http_keepalive_load.hpp"
#include "bench/raw_cgroup_programs.hpp"
#include "bench/round_stats.hpp"
#include "bpf/runtime.hpp"
#include "cgroup/resolver.hpp"
#include "cgroup/v2_root.hpp"
#include "kpod/registry.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <boost/json/parse.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

namespace fs = std::filesystem;
namespace nc = nodepack::cgroup;
namespace nk = nodepack::kpod;
using nodepack::bench::mean;
using nodepack::bench::median;
using nodepack::bench::stddev;

namespace {

struct Options {
  std::string iperf3;
  int seconds = 5;
  int rounds = 2;
  std::vector<std::string> collectors = {"tcp"};
  bool together_only = false;
  int udp_datagrams = 200000;
  int http_seconds = 0;
  std::vector<std::pair<std::string, std::string>> objects;  // phase name, object file
  bool empty = false;
  bool pin = false;
  bool stats_off = false;
  int server_cpu = 0, client_cpu = 1;  // with --pin: 1 (apart) or same (both on CPU 1)
};

const std::string kServerUid = "7c1e0000-0000-4000-8000-0000000000e1";
const std::string kClientUid = "7c1e0000-0000-4000-8000-0000000000e2";
const std::string kServerAddr = "127.0.1.2";
const std::string kClientAddr = "127.0.1.1";

// Two pods in a kubepods tree of the bench's own, removed at exit.
class BenchPods final : public nc::PodLookup {
 public:
  explicit BenchPods(const fs::path& v2) : root_(v2 / ("nodepack-bench-net-" + std::to_string(::getpid()))) {
    server_ = add(kServerUid, "server");
    client_ = add(kClientUid, "client");
  }
  ~BenchPods() override {
    for (const auto& dir : {server_, client_, server_.parent_path(), client_.parent_path(),
                            root_ / "kubepods.slice/kubepods-burstable.slice", root_ / "kubepods.slice", root_}) {
      std::error_code ec;
      fs::remove(dir, ec);  // cgroupfs: rmdir, deepest first
    }
  }
  std::optional<nc::PodInfo> by_uid(std::string_view uid) const override {
    nc::PodInfo info;
    info.namespace_name = "bench";
    info.name = uid == kServerUid ? "server" : "client";
    info.workload = info.name;
    return info;
  }
  const fs::path& root() const { return root_; }
  const fs::path& server() const { return server_; }
  const fs::path& client() const { return client_; }

 private:
  fs::path add(std::string uid, const std::string& name) {
    std::replace(uid.begin(), uid.end(), '-', '_');
    auto dir = root_ / "kubepods.slice/kubepods-burstable.slice" / ("kubepods-burstable-pod" + uid + ".slice") /
               ("cri-containerd-" + std::string(60, name[0]) + "0001.scope");
    fs::create_directories(dir);
    return dir;
  }
  fs::path root_, server_, client_;
};

// Runs argv in `cgroup`; returns its stdout (empty on failure).
std::string run_in(const fs::path& cgroup, const std::vector<std::string>& argv) {
  int out[2];
  if (::pipe(out) != 0) {
    return {};
  }
  pid_t pid = ::fork();
  if (pid == 0) {
    std::ofstream(cgroup / "cgroup.procs") << "0" << std::flush;
    ::dup2(out[1], 1);
    ::close(out[0]);
    std::vector<char*> args;
    for (const auto& a : argv) {
      args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(out[1]);
  std::string text;
  std::array<char, 4096> buf;
  for (ssize_t n; (n = ::read(out[0], buf.data(), buf.size())) > 0;) {
    text.append(buf.data(), static_cast<std::size_t>(n));
  }
  ::close(out[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? text : std::string{};
}

// One iperf3 transfer from the client pod to the server pod; Gbit/s received, 0 on failure.
double transfer(const Options& o, const BenchPods& pods, int port) {
  pid_t server = ::fork();
  if (server == 0) {
    std::ofstream(pods.server() / "cgroup.procs") << "0" << std::flush;
    if (FILE* null = std::fopen("/dev/null", "w")) {
      ::dup2(::fileno(null), 1);  // the server's progress lines
    }
    const std::string p = std::to_string(port);
    if (o.pin) {
      const std::string cpu = std::to_string(o.server_cpu);
      ::execl(o.iperf3.c_str(), o.iperf3.c_str(), "-s", "-1", "-B", kServerAddr.c_str(), "-p", p.c_str(), "-A",
              cpu.c_str(), static_cast<char*>(nullptr));
    }
    ::execl(o.iperf3.c_str(), o.iperf3.c_str(), "-s", "-1", "-B", kServerAddr.c_str(), "-p", p.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the server binds
  std::vector<std::string> client{
      o.iperf3, "-c", kServerAddr, "-B", kClientAddr, "-p", std::to_string(port), "-t", std::to_string(o.seconds),
      "-J"};
  if (o.pin) {
    client.insert(client.end(), {"-A", std::to_string(o.client_cpu)});
  }
  const auto json = run_in(pods.client(), client);
  ::waitpid(server, nullptr, 0);
  if (json.empty()) {
    return 0;
  }
  auto doc = boost::json::parse(json);
  return doc.at("end").at("sum_received").at("bits_per_second").to_number<double>() / 1e9;
}

struct Phase {
  std::string name;
  std::vector<std::string> collectors;
  std::string object;  // an object file, or "empty" for programs that return at once
  bool stats = true;   // kernel run-time statistics on while loaded (the agent's way until now)
};

using ProgramTotals = std::map<std::string, std::pair<std::uint64_t, std::uint64_t>>;  // runs, ns

// `datagrams` datagrams from the client pod to the server pod, both sockets unconnected: each
// sent with sendto and received with recvfrom, so topology's sendmsg4 and recvmsg4 programs run
// once per datagram (its common case: a peer the socket already knows). The server stops once
// the client has been quiet for a second; datagrams the loopback drops do not matter here.
void udp_exchange(const BenchPods& pods, int port, int datagrams) {
  int ready[2];
  if (::pipe(ready) != 0) {
    return;
  }
  auto at = [](const std::string& ip, int p) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(p));
    ::inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
    return a;
  };
  pid_t server = ::fork();
  if (server == 0) {
    std::ofstream(pods.server() / "cgroup.procs") << "0" << std::flush;
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    auto self = at(kServerAddr, port);
    timeval quiet{1, 0};
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&self), sizeof(self)) != 0 ||
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &quiet, sizeof(quiet)) != 0 || ::write(ready[1], "r", 1) != 1) {
      ::_exit(1);
    }
    char buf[64];
    sockaddr_in from{};
    for (socklen_t len = sizeof(from);
         ::recvfrom(fd, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &len) >= 0; len = sizeof(from)) {
    }
    ::_exit(0);
  }
  char r;
  const bool bound = ::read(ready[0], &r, 1) == 1;
  ::close(ready[0]);
  ::close(ready[1]);
  pid_t client = bound ? ::fork() : -1;
  if (client == 0) {
    std::ofstream(pods.client() / "cgroup.procs") << "0" << std::flush;
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    auto self = at(kClientAddr, 0);
    auto to = at(kServerAddr, port);
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&self), sizeof(self)) != 0) {
      ::_exit(1);
    }
    for (int i = 0; i < datagrams; ++i) {
      ::sendto(fd, "datagram", 8, 0, reinterpret_cast<sockaddr*>(&to), sizeof(to));
    }
    ::_exit(0);
  }
  if (client > 0) {
    ::waitpid(client, nullptr, 0);
  }
  ::waitpid(server, nullptr, 0);
}

struct Figures {
  std::vector<double> gbps, requests_per_s;
  std::vector<double> gbps_vs_base, requests_vs_base;  // this round's figure / its round's baseline
  ProgramTotals on_iperf3, on_udp, on_http;
  std::map<std::string, std::vector<double>> ns_iperf3, ns_udp, ns_http;  // each round's ns per run, per program
};

// A phase's programs while they are loaded: collectors through a registry, or raw programs. An
// object file that does not load leaves error() set, and the caller returns from main so that the
// pods' cgroups are removed (an exit from here would skip their destructor and leave them behind).
class Loaded {
 public:
  Loaded(const Phase& phase, const BenchPods& pods) : phase_(phase) {
    if (!phase.object.empty()) {
      const auto cgroup = pods.root() / "kubepods.slice";
      auto raw = phase.object == "empty" ? nodepack::bench::RawCgroupPrograms::returning_at_once(cgroup)
                                         : nodepack::bench::RawCgroupPrograms::from_object(phase.object, cgroup);
      if (!raw) {
        error_ = phase.name + ": " + raw.error().message;
        return;
      }
      raw_ = std::move(*raw);
      stats_ = nodepack::bpf::BpfStatsSession::enable();
      return;
    }
    runtime_ = std::make_shared<nodepack::bpf::BpfRuntime>(std::make_unique<nodepack::bpf::KernelFeatureProbe>());
    std::vector<nk::CollectorSpec> specs;
    for (auto& s : runtime_->collectors()) {
      if (std::find(phase.collectors.begin(), phase.collectors.end(), s.name) != phase.collectors.end()) {
        specs.push_back(std::move(s));
      }
    }
    resolver_ = std::make_unique<nc::CgroupResolver>(pods.root(), pods);
    nk::RegistryOptions opts;
    opts.collectors.node = "bench";
    opts.profile = nk::Profile::comprehensive;
    registry_ = std::make_unique<nk::CollectorRegistry>(opts, resolver_.get(), std::move(specs));
    registry_->start();
    if (phase.stats) {
      runtime_->enable_stats();
    }
  }

  // Runs and ns of each program so far, keyed "collector/program".
  ProgramTotals totals() const {
    ProgramTotals out;
    if (raw_) {
      for (const auto& p : raw_->stats()) {
        out[phase_.name + "/" + p.program] = {p.run_count, p.run_time_ns};
      }
      return out;
    }
    for (const auto& name : phase_.collectors) {
      if (auto* c = registry_->find(name)) {
        for (const auto& p : c->program_stats()) {
          out[name + "/" + p.program] = {p.run_count, p.run_time_ns};
        }
      }
    }
    return out;
  }

  const std::string& error() const { return error_; }

  // As a scrape would, so the figures include collect-time work's effects.
  void collect() {
    if (registry_) {
      registry_->Collect();
    }
  }

 private:
  const Phase& phase_;
  std::shared_ptr<nodepack::bpf::BpfRuntime> runtime_;
  std::unique_ptr<nc::CgroupResolver> resolver_;
  std::unique_ptr<nk::CollectorRegistry> registry_;
  std::unique_ptr<nodepack::bench::RawCgroupPrograms> raw_;
  std::optional<nodepack::Result<nodepack::bpf::BpfStatsSession>> stats_;
  std::string error_;
};

// Adds what ran between `before` and `after` to the totals, and the round's ns per run.
void add(ProgramTotals& to, std::map<std::string, std::vector<double>>& per_round, const ProgramTotals& after,
         const ProgramTotals& before) {
  for (const auto& [prog, v] : after) {
    const auto b = before.count(prog) ? before.at(prog) : std::pair<std::uint64_t, std::uint64_t>{0, 0};
    const auto runs = v.first - b.first;
    to[prog].first += runs;
    to[prog].second += v.second - b.second;
    if (runs > 0) {
      per_round[prog].push_back(static_cast<double>(v.second - b.second) / static_cast<double>(runs));
    }
  }
}

std::vector<std::string> split(const std::string& s, char sep = ',') {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, sep);) {
    if (!item.empty()) {
      out.push_back(item);
    }
  }
  return out;
}

// "| phase | per round | mean | min–max | vs own round's baseline, mean ± sd (n) |" rows.
void print_rate_table(const char* unit, const std::vector<Phase>& phases, std::map<std::string, Figures>& figures,
                      std::vector<double> Figures::*values, std::vector<double> Figures::*ratios) {
  std::printf("| phase | %s per round | mean | min–max | vs own round's baseline: mean ± sd |\n|---|---|---|---|---|\n",
              unit);
  for (const auto& phase : phases) {
    const auto& f = figures[phase.name];
    const auto& v = f.*values;
    std::string rounds;
    for (double g : v) {
      char cell[32];
      std::snprintf(cell, sizeof(cell), "%.4g", g);
      rounds += (rounds.empty() ? "" : " / ") + std::string(cell);
    }
    const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
    std::string paired = "-";
    if (phase.name != "baseline" && !(f.*ratios).empty()) {
      std::vector<double> pct;
      for (double r : f.*ratios) {
        pct.push_back((r - 1) * 100);
      }
      char cell[64];
      std::snprintf(cell, sizeof(cell), "%+.1f %% ± %.1f %%", mean(pct), stddev(pct));
      paired = cell;
    }
    std::printf("| %s | %s | %.4g | %.4g–%.4g | %s |\n", phase.name.c_str(), rounds.c_str(), mean(v),
                v.empty() ? 0.0 : *lo, v.empty() ? 0.0 : *hi, paired.c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--iperf3") {
      o.iperf3 = value;
    } else if (flag == "--seconds") {
      o.seconds = std::stoi(value);
    } else if (flag == "--rounds") {
      o.rounds = std::stoi(value);
    } else if (flag == "--collectors") {
      o.collectors = value == "-" ? std::vector<std::string>{} : split(value);  // "-": none
    } else if (flag == "--udp-datagrams") {
      o.udp_datagrams = std::stoi(value);
    } else if (flag == "--together-only") {
      o.together_only = value == "1";
    } else if (flag == "--http-seconds") {
      o.http_seconds = std::stoi(value);
    } else if (flag == "--empty") {
      o.empty = value == "1";
    } else if (flag == "--stats-off") {
      o.stats_off = value == "1";
    } else if (flag == "--pin") {
      o.pin = value == "1" || value == "same";
      o.server_cpu = value == "same" ? 1 : 0;
    } else if (flag == "--objects") {
      for (const auto& item : split(value)) {
        const auto kv = split(item, '=');
        if (kv.size() == 2) {
          o.objects.emplace_back(kv[0], kv[1]);
        }
      }
    }
  }
  if (o.iperf3.empty()) {
    std::fprintf(stderr, "usage: %s --iperf3 PATH [--seconds N] [--rounds N] [--collectors a,b]\n", argv[0]);
    return 2;
  }
  spdlog::set_level(spdlog::level::warn);
  auto v2 = nc::find_cgroup2_root(nodepack::HostPaths{});
  if (!v2) {
    std::fprintf(stderr, "no cgroup v2 tree: %s\n", v2.error().message.c_str());
    return 1;
  }
  BenchPods pods(*v2);
  std::vector<Phase> phases{{"baseline", {}, ""}};
  if (o.empty) {
    phases.push_back({"empty", {}, "empty"});
  }
  for (const auto& [name, file] : o.objects) {
    phases.push_back({name, {}, file});
  }
  for (const auto& c : o.collectors) {
    if (!o.together_only) {
      phases.push_back({c, {c}, ""});
    }
  }
  if (o.collectors.size() > 1 || o.together_only) {
    phases.push_back({"all", o.collectors, ""});
  }
  if (o.stats_off) {
    phases.push_back({"all, statistics off", o.collectors, "", false});
  }

  std::map<std::string, Figures> figures;
  int port = 15201;
  for (int round = 0; round < o.rounds; ++round) {
    std::map<std::string, std::pair<double, double>> this_round;  // Gbit/s, req/s
    for (std::size_t k = 0; k < phases.size(); ++k) {
      const auto& phase = phases[(k + static_cast<std::size_t>(round)) % phases.size()];
      Loaded loaded(phase, pods);
      if (!loaded.error().empty()) {
        std::fprintf(stderr, "%s\n", loaded.error().c_str());
        return 1;
      }
      auto& f = figures[phase.name];
      const auto at_start = loaded.totals();
      const double gbps = transfer(o, pods, port++);
      const auto after_transfer = loaded.totals();
      add(f.on_iperf3, f.ns_iperf3, after_transfer, at_start);
      udp_exchange(pods, port++, o.udp_datagrams);
      const auto after_iperf3 = loaded.totals();  // and the UDP exchange: the HTTP load starts here
      add(f.on_udp, f.ns_udp, after_iperf3, after_transfer);
      double rps = 0;
      if (o.http_seconds > 0) {
        nodepack::bench::HttpLoad load{pods.client(), pods.server(), kClientAddr, kServerAddr, port++, o.http_seconds};
        if (o.pin) {
          load.server_cpu = o.server_cpu;
          load.client_cpu = o.client_cpu;
        }
        rps = static_cast<double>(nodepack::bench::run_http_load(load)) / o.http_seconds;
        add(f.on_http, f.ns_http, loaded.totals(), after_iperf3);
      }
      loaded.collect();
      f.gbps.push_back(gbps);
      f.requests_per_s.push_back(rps);
      this_round[phase.name] = {gbps, rps};
    }
    const auto base = this_round["baseline"];
    for (const auto& [name, v] : this_round) {
      if (base.first > 0) {
        figures[name].gbps_vs_base.push_back(v.first / base.first);
      }
      if (base.second > 0) {
        figures[name].requests_vs_base.push_back(v.second / base.second);
      }
    }
  }

  std::printf("# %d round(s) of %d s iperf3%s per phase, loopback TCP between two pod cgroups%s\n", o.rounds, o.seconds,
              o.http_seconds > 0 ? (" + " + std::to_string(o.http_seconds) + " s HTTP").c_str() : "",
              !o.pin                         ? ""
              : o.server_cpu == o.client_cpu ? ", server and client on CPU 1"
                                             : ", server on CPU 0, client on CPU 1");
  print_rate_table("Gbit/s", phases, figures, &Figures::gbps, &Figures::gbps_vs_base);
  if (o.http_seconds > 0) {
    std::printf("\n");
    print_rate_table("HTTP req/s", phases, figures, &Figures::requests_per_s, &Figures::requests_vs_base);
  }
  std::printf(
      "\n| program (phase) | traffic | runs | ns per run, all rounds | per round: median, min–max |\n"
      "|---|---|---|---|---|\n");
  for (const auto& phase : phases) {
    auto& f = figures[phase.name];
    for (const auto& [traffic, totals, rounds] :
         {std::tuple{"iperf3", &f.on_iperf3, &f.ns_iperf3}, std::tuple{"udp", &f.on_udp, &f.ns_udp},
          std::tuple{"http", &f.on_http, &f.ns_http}}) {
      for (const auto& [prog, v] : *totals) {
        if (v.first == 0) {
          continue;
        }
        const auto& r = (*rounds)[prog];
        const auto [lo, hi] = std::minmax_element(r.begin(), r.end());
        std::printf("| %s (%s) | %s | %llu | %.0f | %.0f, %.0f–%.0f |\n", prog.c_str(), phase.name.c_str(), traffic,
                    static_cast<unsigned long long>(v.first),
                    static_cast<double>(v.second) / static_cast<double>(v.first), median(r), *lo, *hi);
      }
    }
  }
  return 0;
}
