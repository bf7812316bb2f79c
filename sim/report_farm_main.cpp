// nodepack-report-farm: synthetic agents for aggregator scale runs. Serves /report for N generated
// nodes on one port and the matching Nodes, agent pods and unscheduled pods from a fake API
// server, then waits for SIGINT/SIGTERM. See sim/report_farm.hpp for how the aggregator reaches it.

#include "sim/fake_api_server.hpp"
#include "sim/report_farm.hpp"

#include <boost/asio/io_context.hpp>

#include <charconv>
#include <csignal>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>
#include <thread>

#include <pthread.h>
#include <sys/resource.h>

namespace {

using nodepack::fail;
using nodepack::Result;

struct Options {
  nodepack::sim::ReportFarmOptions farm;
  std::string listen = "0.0.0.0:0";
  std::string api_listen = "127.0.0.1:0";
  std::string kubeconfig_out;
};

constexpr std::string_view usage =
    "usage: nodepack-report-farm [--nodes N] [--pods-per-node M] [--pending-pods P] [--seed S]\n"
    "                            [--listen ADDR] [--api-listen ADDR] [--kubeconfig-out PATH]\n"
    "                            [--bound-pods true|false] [--change-every SECONDS]\n"
    "  --nodes           synthetic nodes (default 100)\n"
    "  --pods-per-node   pods each report counts, DaemonSet pods included (default 30)\n"
    "  --pending-pods    unscheduled Pending pods in the API server (default 100)\n"
    "  --listen          report server address; it must accept 127.1.x.y (default 0.0.0.0:0)\n"
    "  --api-listen      fake API server address (default 127.0.0.1:0)\n"
    "  --kubeconfig-out  write a kubeconfig for the fake API server to PATH\n"
    "  --bound-pods      also serve every node's pods from the API server, for --node-source=api\n"
    "  --change-every    a node's report changes every SECONDS (each node at its own phase), with an\n"
    "                    ETag and 304 for an unchanged one, as agents answer (default 0: always new)\n"
    "Prints one line: api=URL reports=PORT, then serves until SIGINT/SIGTERM.\n";

Result<int> parse_count(std::string_view flag, std::string_view s, int max) {
  int v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v < 0 || v > max) {
    return fail(std::string(flag) + ": expected an integer from 0 to " + std::to_string(max));
  }
  return v;
}

Result<Options> parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::cout << usage;
      std::exit(0);
    }
    std::string value;
    if (const auto eq = arg.find('='); eq != std::string_view::npos) {
      value = std::string(arg.substr(eq + 1));
      arg = arg.substr(0, eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return fail(std::string(arg) + " needs a value");
    }
    if (arg == "--nodes" || arg == "--pods-per-node" || arg == "--pending-pods" || arg == "--seed" ||
        arg == "--change-every") {
      auto v = parse_count(arg, value, 1'000'000);
      if (!v) {
        return v.error();
      }
      if (arg == "--nodes") {
        o.farm.nodes = *v;
      } else if (arg == "--pods-per-node") {
        o.farm.pods_per_node = *v;
      } else if (arg == "--pending-pods") {
        o.farm.pending_pods = *v;
      } else if (arg == "--change-every") {
        o.farm.change_every_seconds = *v;
      } else {
        o.farm.seed = static_cast<std::uint64_t>(*v);
      }
    } else if (arg == "--listen") {
      o.listen = value;
    } else if (arg == "--api-listen") {
      o.api_listen = value;
    } else if (arg == "--kubeconfig-out") {
      o.kubeconfig_out = value;
    } else if (arg == "--bound-pods") {
      if (value != "true" && value != "false") {
        return fail("--bound-pods wants true or false");
      }
      o.farm.bound_pods = value == "true";
    } else {
      return fail("unknown flag " + std::string(arg) + "\n" + std::string(usage));
    }
  }
  if (o.farm.nodes > 65535 * 200) {
    return fail("--nodes: at most 13107000");
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  auto options = parse_args(argc, argv);
  if (!options) {
    std::cerr << "nodepack-report-farm: " << options.error().message << "\n";
    return 2;
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // The aggregator keeps a connection per synthetic agent open; all of them land here.
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }

  nodepack::sim::ReportFarm farm(options->farm, nodepack::SystemClock::instance());
  boost::asio::io_context io;
  nodepack::http::ServerLimits limits;
  limits.max_connections = static_cast<std::size_t>(options->farm.nodes) + 1024;
  // Every synthetic agent is on one address: a per-client cap would throttle the aggregator's pool.
  limits.max_connections_per_client = 0;
  nodepack::http::Server reports(io, farm.router(), limits);
  if (auto listening = reports.listen(options->listen); !listening) {
    std::cerr << "nodepack-report-farm: " << listening.error().message << "\n";
    return 1;
  }
  const auto port = reports.endpoint().port();

  nodepack::sim::FakeApiOptions api_options;
  api_options.history_limit = 10'000;
  nodepack::sim::FakeApiServer api(api_options);
  for (const auto& objects :
       {farm.node_objects(), farm.agent_pods(port), farm.pending_pod_objects(), farm.bound_pod_objects()}) {
    for (const auto& object : objects) {
      const auto kind = object.at("metadata").as_object().contains("namespace") ? nodepack::sim::Kind::pod
                                                                                : nodepack::sim::Kind::node;
      if (auto stored = api.upsert(kind, object); !stored) {
        std::cerr << "nodepack-report-farm: " << stored.error().message << "\n";
        return 1;
      }
    }
  }
  if (auto started = api.start(options->api_listen); !started) {
    std::cerr << "nodepack-report-farm: " << started.error().message << "\n";
    return 1;
  }
  if (!options->kubeconfig_out.empty()) {
    std::ofstream out(options->kubeconfig_out, std::ios::trunc);
    out << "apiVersion: v1\nkind: Config\nclusters:\n- name: farm\n  cluster:\n    server: " << api.url()
        << "\ncontexts:\n- name: farm\n  context:\n    cluster: farm\n    user: farm\ncurrent-context: farm\n"
           "users:\n- name: farm\n  user:\n    token: \"farm\"\n";
    if (!out) {
      std::cerr << "nodepack-report-farm: cannot write " << options->kubeconfig_out << "\n";
      return 1;
    }
  }
  std::thread thread([&io] { io.run(); });
  std::cout << "api=" << api.url() << " reports=" << port << std::endl;
  int sig = 0;
  sigwait(&signals, &sig);
  reports.stop();
  io.stop();
  thread.join();
  api.stop();
  return 0;
}
