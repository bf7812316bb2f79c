// What the per-packet network collectors cost: loopback TCP throughput (iperf3) between two
// pod-shaped cgroups with no collector loaded, with each collector alone, and with all of them,
// in one run; and each program's kernel run time per run from the BPF run-time statistics.
//
//   bench_net_overhead --iperf3 PATH [--seconds N] [--rounds N] [--collectors tcp,topology,dns,http]
//                      [--together-only 1]   (baseline and all collectors only: more rounds per minute)
//                      [--udp-datagrams N]   (after each transfer, N datagrams sendto -> recvfrom; 200000)
//
// Phases alternate (baseline, each collector, all, baseline again, ...) for --rounds rounds so
// drift on a shared machine shows up in the baselines rather than in one collector's figure.
// Needs root, the BPF syscall and a cgroup v2 tree (hybrid hosts: its `unified` mount).
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
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
namespace nc = nodepack::cgroup;
namespace nk = nodepack::kpod;

namespace {

struct Options {
  std::string iperf3;
  int seconds = 5;
  int rounds = 2;
  std::vector<std::string> collectors = {"tcp"};
  bool together_only = false;
  int udp_datagrams = 200000;
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
    ::execl(o.iperf3.c_str(), o.iperf3.c_str(), "-s", "-1", "-B", kServerAddr.c_str(), "-p",
            std::to_string(port).c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the server binds
  const auto json = run_in(pods.client(), {o.iperf3, "-c", kServerAddr, "-B", kClientAddr, "-p", std::to_string(port),
                                           "-t", std::to_string(o.seconds), "-J"});
  ::waitpid(server, nullptr, 0);
  if (json.empty()) {
    return 0;
  }
  auto doc = boost::json::parse(json);
  return doc.at("end").at("sum_received").at("bits_per_second").to_number<double>() / 1e9;
}

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

struct Phase {
  std::string name;
  std::vector<std::string> collectors;
};

struct Figures {
  std::vector<double> gbps;
  std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> programs;  // runs, ns
};

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) {
      out.push_back(item);
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--iperf3") {
      o.iperf3 = argv[i + 1];
    } else if (flag == "--seconds") {
      o.seconds = std::stoi(argv[i + 1]);
    } else if (flag == "--rounds") {
      o.rounds = std::stoi(argv[i + 1]);
    } else if (flag == "--collectors") {
      o.collectors = split(argv[i + 1]);
    } else if (flag == "--udp-datagrams") {
      o.udp_datagrams = std::stoi(argv[i + 1]);
    } else if (flag == "--together-only") {
      o.together_only = std::string(argv[i + 1]) == "1";
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
  std::vector<Phase> phases{{"baseline", {}}};
  for (const auto& c : o.collectors) {
    if (!o.together_only) {
      phases.push_back({c, {c}});
    }
  }
  if (o.collectors.size() > 1 || o.together_only) {
    phases.push_back({"all", o.collectors});
  }

  std::map<std::string, Figures> figures;
  int port = 15201;
  for (int round = 0; round < o.rounds; ++round) {
    for (const auto& phase : phases) {
      auto runtime = std::make_shared<nodepack::bpf::BpfRuntime>(std::make_unique<nodepack::bpf::KernelFeatureProbe>());
      std::vector<nk::CollectorSpec> specs;
      for (auto& s : runtime->collectors()) {
        if (std::find(phase.collectors.begin(), phase.collectors.end(), s.name) != phase.collectors.end()) {
          specs.push_back(std::move(s));
        }
      }
      nc::CgroupResolver resolver(pods.root(), pods);
      nk::RegistryOptions opts;
      opts.collectors.node = "bench";
      opts.profile = nk::Profile::comprehensive;
      nk::CollectorRegistry registry(opts, &resolver, std::move(specs));
      registry.start();
      runtime->enable_stats();
      auto& f = figures[phase.name];
      f.gbps.push_back(transfer(o, pods, port++));
      udp_exchange(pods, port++, o.udp_datagrams);
      registry.Collect();  // as a scrape would, so the figures include collect-time work's effects
      for (const auto& name : phase.collectors) {
        if (auto* c = registry.find(name)) {
          for (const auto& p : c->program_stats()) {
            auto& [runs, ns] = f.programs[name + "/" + p.program];
            runs += p.run_count;
            ns += p.run_time_ns;
          }
        }
      }
    }
  }

  std::printf("# %d round(s) of %d s per phase, loopback TCP between two pod cgroups, then %d UDP datagrams\n",
              o.rounds, o.seconds, o.udp_datagrams);
  std::printf("| phase | Gbit/s per round | mean | vs baseline |\n|---|---|---|---|\n");
  auto mean = [](const std::vector<double>& v) {
    double s = 0;
    for (double x : v) {
      s += x;
    }
    return v.empty() ? 0.0 : s / static_cast<double>(v.size());
  };
  const double base = mean(figures["baseline"].gbps);
  for (const auto& phase : phases) {
    const auto& f = figures[phase.name];
    std::string rounds;
    for (double g : f.gbps) {
      rounds += (rounds.empty() ? "" : " / ") + std::to_string(g).substr(0, 5);
    }
    const double m = mean(f.gbps);
    std::printf("| %s | %s | %.2f | %+.1f %% |\n", phase.name.c_str(), rounds.c_str(), m,
                base > 0 ? (m / base - 1) * 100 : 0.0);
  }
  std::printf("\n| program (phase) | runs | ns per run |\n|---|---|---|\n");
  for (const auto& phase : phases) {
    for (const auto& [prog, v] : figures[phase.name].programs) {
      std::printf("| %s (%s) | %llu | %.0f |\n", prog.c_str(), phase.name.c_str(),
                  static_cast<unsigned long long>(v.first),
                  v.first ? static_cast<double>(v.second) / static_cast<double>(v.first) : 0.0);
    }
  }
  return 0;
}
