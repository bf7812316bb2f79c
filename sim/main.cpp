// nodepack-sim: a simulated Kubernetes API server with a generated, churning cluster, for the
// demo and for scale benchmarks. kubectl works against it with the kubeconfig it writes.

#include "sim/cluster.hpp"
#include "sim/fake_api_server.hpp"
#include "sim/simulated_kubelet.hpp"

#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <limits>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <pthread.h>

namespace {

using nodepack::fail;
using nodepack::Result;

struct Options {
  std::string listen = "127.0.0.1:0";
  int nodes = 3;
  int pods_per_node = 12;
  std::chrono::milliseconds churn_interval{5000};
  std::uint64_t seed = 1;
  std::string kubeconfig_out;
  std::string token;
  std::string access_policy;
  std::size_t history = 1000;
  std::string machines;
  double fill_cpu = 0;
  std::size_t pod_bulk_bytes = 0;
  std::vector<std::pair<std::string, std::string>> node_allocatable;  // resource, quantity
};

constexpr std::string_view usage =
    "usage: nodepack-sim [--listen ADDR] [--nodes N] [--pods-per-node M] [--churn-interval DURATION]\n"
    "                    [--seed S] [--kubeconfig-out PATH] [--token TOKEN] [--access-policy FILE]\n"
    "                    [--history EVENTS] [--machines DIR] [--fill-cpu SHARE]\n"
    "                    [--node-allocatable LIST] [--pod-bulk-bytes BYTES]\n"
    "  --listen          host:port, :port or [ipv6]:port (default 127.0.0.1:0, a free port)\n"
    "  --nodes           simulated nodes (default 3)\n"
    "  --pods-per-node   pods per node, DaemonSet pod included (default 12)\n"
    "  --churn-interval  time between rounds of pod changes, e.g. 5s, 500ms, 1m; 0 disables (default 5s)\n"
    "  --seed            seed for the generated cluster and churn (default 1)\n"
    "  --kubeconfig-out  write a kubeconfig for this server to PATH\n"
    "  --token           the admin's bearer token; clients must send a known token (default: none required)\n"
    "  --access-policy   JSON file of more identities and what access reviews allow them:\n"
    "                    {\"identities\":[{\"token\",\"user\",\"groups\"}],\n"
    "                     \"rules\":[{\"user\"|\"group\",\"verbs\",\"nonResourceURLs\",\"resources\"}]}\n"
    "  --history         watch events kept for replay (default 1000)\n"
    "  --machines        DIR/<node>/host holds a node's sysfs tree: its CPUs, memory, hugepages and GPUs\n"
    "                    become the node's, and a simulated kubelet keeps DIR/<node>/kubelet/\n"
    "                    cpu_manager_state, memory_manager_state (static policies) and, with GPUs,\n"
    "                    device-plugins/kubelet_internal_checkpoint\n"
    "  --fill-cpu        more pods until this share of allocatable cpu is requested, e.g. 0.75 (default 0: off)\n"
    "  --node-allocatable  every node's capacity and allocatable, e.g. cpu=96,memory=384Gi,pods=250\n"
    "                    (default: from the generated instance types)\n"
    "  --pod-bulk-bytes  pad every pod to about this many bytes of JSON with managedFields, a\n"
    "                    last-applied-configuration annotation and env entries, as real pods are\n"
    "                    (e.g. 21000; default 0: the generated pods as they are, about 2 KB)\n";

Result<std::chrono::milliseconds> parse_duration(std::string_view s) {
  if (s == "0") {
    return std::chrono::milliseconds(0);
  }
  std::size_t digits = 0;
  while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9') {
    ++digits;
  }
  const auto unit = s.substr(digits);
  if (digits == 0 || digits > 12) {
    return fail("bad duration \"" + std::string(s) + "\": expected e.g. 5s, 500ms, 1m or 0");
  }
  const long long n = std::stoll(std::string(s.substr(0, digits)));
  if (unit == "ms") {
    return std::chrono::milliseconds(n);
  }
  if (unit == "s") {
    return std::chrono::milliseconds(n * 1000);
  }
  if (unit == "m") {
    return std::chrono::milliseconds(n * 60'000);
  }
  if (unit == "h") {
    return std::chrono::milliseconds(n * 3'600'000);
  }
  return fail("bad duration \"" + std::string(s) + "\": unit must be ms, s, m or h");
}

Result<long long> parse_int(std::string_view flag, std::string_view s, long long min, long long max) {
  long long v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v < min || v > max) {
    return fail(std::string(flag) + ": expected an integer from " + std::to_string(min) + " to " + std::to_string(max) +
                ", got \"" + std::string(s) + "\"");
  }
  return v;
}

Result<Options> parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::string value;
    if (arg == "-h" || arg == "--help") {
      std::cout << usage;
      std::exit(0);
    }
    if (!arg.starts_with("--")) {
      return fail("unexpected argument \"" + std::string(arg) + "\"");
    }
    if (const auto eq = arg.find('='); eq != std::string_view::npos) {
      value = std::string(arg.substr(eq + 1));
      arg = arg.substr(0, eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return fail(std::string(arg) + " needs a value");
    }
    if (arg == "--listen") {
      o.listen = value;
    } else if (arg == "--nodes") {
      auto v = parse_int(arg, value, 0, 100000);
      if (!v) {
        return v.error();
      }
      o.nodes = static_cast<int>(*v);
    } else if (arg == "--pods-per-node") {
      auto v = parse_int(arg, value, 0, 10000);
      if (!v) {
        return v.error();
      }
      o.pods_per_node = static_cast<int>(*v);
    } else if (arg == "--churn-interval") {
      auto v = parse_duration(value);
      if (!v) {
        return fail("--churn-interval: " + v.error().message);
      }
      o.churn_interval = *v;
    } else if (arg == "--seed") {
      auto v = parse_int(arg, value, 0, std::numeric_limits<long long>::max());
      if (!v) {
        return v.error();
      }
      o.seed = static_cast<std::uint64_t>(*v);
    } else if (arg == "--kubeconfig-out") {
      o.kubeconfig_out = value;
    } else if (arg == "--token") {
      o.token = value;
    } else if (arg == "--access-policy") {
      o.access_policy = value;
    } else if (arg == "--fill-cpu") {
      double share = -1;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), share);
      if (ec != std::errc() || end != value.data() + value.size() || share < 0 || share > 1) {
        return fail("--fill-cpu: expected a share from 0 to 1, not \"" + value + "\"");
      }
      o.fill_cpu = share;
    } else if (arg == "--pod-bulk-bytes") {
      auto v = parse_int(arg, value, 0, 16'000'000);
      if (!v) {
        return v.error();
      }
      o.pod_bulk_bytes = static_cast<std::size_t>(*v);
    } else if (arg == "--node-allocatable") {
      std::string_view list = value;
      while (!list.empty()) {
        const auto comma = list.find(',');
        const auto item = list.substr(0, comma);
        const auto eq = item.find('=');
        if (eq == std::string_view::npos || eq == 0 || eq + 1 == item.size()) {
          return fail("--node-allocatable: expected resource=quantity, not \"" + std::string(item) + "\"");
        }
        o.node_allocatable.emplace_back(item.substr(0, eq), item.substr(eq + 1));
        list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
      }
    } else if (arg == "--machines") {
      o.machines = value;
    } else if (arg == "--history") {
      auto v = parse_int(arg, value, 1, 100'000'000);
      if (!v) {
        return v.error();
      }
      o.history = static_cast<std::size_t>(*v);
    } else {
      return fail("unknown flag " + std::string(arg) + "\n" + std::string(usage));
    }
  }
  return o;
}

Result<void> write_kubeconfig(const std::string& path, const std::string& url, const std::string& token) {
  std::ofstream out(path, std::ios::trunc);
  if (!out) {
    return fail("cannot write kubeconfig \"" + path + "\"");
  }
  out << "apiVersion: v1\n"
         "kind: Config\n"
         "clusters:\n"
         "- name: nodepack-sim\n"
         "  cluster:\n"
         "    server: "
      << url
      << "\n"
         "contexts:\n"
         "- name: nodepack-sim\n"
         "  context:\n"
         "    cluster: nodepack-sim\n"
         "    user: nodepack-sim\n"
         "    namespace: default\n"
         "current-context: nodepack-sim\n"
         "users:\n"
         "- name: nodepack-sim\n"
         "  user:\n"
         "    token: \""
      << token << "\"\n";
  out.close();
  if (!out) {
    return fail("cannot write kubeconfig \"" + path + "\"");
  }
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  auto options = parse_args(argc, argv);
  if (!options) {
    std::cerr << "nodepack-sim: " << options.error().message << "\n";
    return 2;
  }
  // Signals are taken synchronously by the main thread; block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  nodepack::sim::FakeApiOptions api;
  api.token = options->token;
  if (!options->access_policy.empty()) {
    std::ifstream in(options->access_policy);
    std::stringstream text;
    text << in.rdbuf();
    auto policy = nodepack::sim::AccessPolicy::parse(text.str(), "");
    if (!in || !policy) {
      std::cerr << "nodepack-sim: --access-policy " << options->access_policy << ": "
                << (policy ? std::string("cannot read the file") : policy.error().message) << "\n";
      return 2;
    }
    api.identities = policy->identities();
    api.rules = policy->rules();
  }
  api.history_limit = options->history;
  // Every agent of a demo or benchmark runs on this machine, so all come from one address.
  api.limits.max_connections_per_client = 0;
  api.limits.max_connections = 4096;
  api.seed = options->seed;
  nodepack::sim::FakeApiServer server(api);
  nodepack::sim::ClusterOptions shape{
      options->nodes, options->pods_per_node, {}, options->fill_cpu, options->pod_bulk_bytes};
  std::vector<nodepack::sim::SimulatedKubelet> kubelets;
  std::string machine_error;
  if (!options->machines.empty()) {
    shape.shape_node = [&](boost::json::object& node) {
      auto kubelet = nodepack::sim::machine_for_node(options->machines, node);
      if (!kubelet) {
        machine_error = kubelet.error().message;
      } else if (*kubelet) {
        kubelets.push_back(std::move(**kubelet));
      }
    };
  }
  if (!options->node_allocatable.empty()) {
    // After a machine's shape, so the flag has the last word on what it names.
    shape.shape_node = [&, machine = std::move(shape.shape_node)](boost::json::object& node) {
      if (machine) {
        machine(node);
      }
      auto& status = node["status"].as_object();
      for (const auto& [resource, quantity] : options->node_allocatable) {
        status["capacity"].as_object()[resource] = quantity;
        status["allocatable"].as_object()[resource] = quantity;
      }
    };
  }
  auto cluster = nodepack::sim::generate_cluster(shape, options->seed);
  if (!machine_error.empty()) {
    std::cerr << "nodepack-sim: --machines: " << machine_error << "\n";
    return 2;
  }
  // The kubelets follow the pods bound to their nodes, at start and after every round of churn.
  const auto sync_kubelets = [&] {
    if (kubelets.empty()) {
      return;
    }
    std::vector<boost::json::object> pods;
    for (const auto& pod : server.objects(nodepack::sim::Kind::pod)) {
      pods.push_back(*pod);
    }
    for (auto& kubelet : kubelets) {
      if (auto synced = kubelet.sync(pods); !synced) {
        std::cerr << "nodepack-sim: " << synced.error().message << std::endl;
      }
    }
  };
  if (auto loaded = nodepack::sim::load_cluster(server, cluster); !loaded) {
    std::cerr << "nodepack-sim: " << loaded.error().message << "\n";
    return 1;
  }
  if (auto started = server.start(options->listen); !started) {
    std::cerr << "nodepack-sim: " << started.error().message << "\n";
    return 1;
  }
  if (!options->kubeconfig_out.empty()) {
    // kubectl sends bearer tokens over https only, so without --token the server checks none and
    // the kubeconfig carries a placeholder that clients needing a token can still send.
    const std::string token = options->token.empty() ? "nodepack-sim" : options->token;
    if (auto written = write_kubeconfig(options->kubeconfig_out, server.url(), token); !written) {
      std::cerr << "nodepack-sim: " << written.error().message << "\n";
      return 1;
    }
  }
  std::cout << "nodepack-sim serving " << server.url() << " (" << options->nodes << " nodes, "
            << server.objects(nodepack::sim::Kind::pod).size() << " pods) kubeconfig: "
            << (options->kubeconfig_out.empty() ? "(none; use --kubeconfig-out)" : options->kubeconfig_out)
            << std::endl;

  sync_kubelets();
  nodepack::sim::Churner churner(shape, options->seed + 1);
  for (;;) {
    int sig = 0;
    if (options->churn_interval.count() == 0) {
      sigwait(&signals, &sig);
    } else {
      const auto ms = options->churn_interval.count();
      timespec wait{static_cast<time_t>(ms / 1000), static_cast<long>((ms % 1000) * 1'000'000)};
      sig = sigtimedwait(&signals, nullptr, &wait);
      if (sig < 0) {
        churner.step(server);
        sync_kubelets();
        continue;
      }
    }
    std::cout << "nodepack-sim: " << (sig == SIGINT ? "SIGINT" : "SIGTERM") << ", stopping" << std::endl;
    break;
  }
  server.stop();
  return 0;
}
