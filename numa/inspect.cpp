#include "numa/inspect.hpp"

#include "numa/collector.hpp"
#include "numa/numa_state.hpp"
#include "numa/report.hpp"

#include <prometheus/text_serializer.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include <unistd.h>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace nodepack::numa {

namespace {

constexpr std::string_view usage =
    "usage: inspect numa [--host-root DIR] [--kubelet-root DIR] [--node-name NAME]\n"
    "                    [--reserved-cpus LIST] [--format json|prometheus]\n"
    "numainfo_exporter's flags work too: -K/--kube-state DIR (the kubelet root), -N NAME,\n"
    "-M/--dump-metrics (the Prometheus text on stderr, as it printed it). For its -Y/--sysfs\n"
    "give --host-root, the directory that holds sys/ (hwloc reads the whole host root).\n"
    "The node name defaults to $NODE_NAME, then $NUMAINFO_NODENAME, then the host name.\n";

std::string default_node_name() {
  for (const char* name : {"NODE_NAME", "NUMAINFO_NODENAME"}) {
    if (const char* env = std::getenv(name); env != nullptr && *env != '\0') {
      return env;
    }
  }
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) == 0) {
    return buf;
  }
  return "unknown";
}

int bad_flags(const std::string& message) {
  std::cerr << "inspect numa: " << message << "\n" << usage;
  return 2;
}

}  // namespace

int run_inspect_numa(int argc, char** argv) {
  std::optional<std::string> host_root;
  std::optional<std::string> kubelet_root;
  std::optional<std::string> node_name;
  std::string reserved;
  std::string format = "prometheus";
  bool to_stderr = false;  // -M: numainfo_exporter printed its dump on stderr
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::cout << usage;
      return 0;
    }
    std::optional<std::string> value;
    if (const auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    }
    auto take = [&]() -> std::optional<std::string> {
      if (value) {
        return value;
      }
      if (i + 1 < argc) {
        return std::string(argv[++i]);
      }
      return std::nullopt;
    };
    std::optional<std::string>* target = nullptr;
    if (arg == "-M" || arg == "--dump-metrics") {
      to_stderr = true;
      continue;
    }
    if (arg == "--host-root") {
      target = &host_root;
    } else if (arg == "--kubelet-root" || arg == "-K" || arg == "--kube-state") {
      target = &kubelet_root;
    } else if (arg == "--node-name" || arg == "-N") {
      target = &node_name;
    } else if (arg == "--format" || arg == "--reserved-cpus") {
      auto v = take();
      if (!v) {
        return bad_flags(arg + " needs a value");
      }
      (arg == "--format" ? format : reserved) = *v;
      continue;
    } else {
      return bad_flags("unknown flag \"" + arg + "\"");
    }
    auto v = take();
    if (!v || v->empty()) {
      return bad_flags(arg + " needs a value");
    }
    *target = *v;
  }
  if (format != "json" && format != "prometheus") {
    return bad_flags("--format must be json or prometheus, not \"" + format + "\"");
  }
  auto reserved_cpus = CpuSet::parse(reserved);
  if (!reserved_cpus) {
    return bad_flags("--reserved-cpus: " + reserved_cpus.error().message);
  }

  NumaOptions opts;
  opts.paths = host_root ? HostPaths::under(*host_root) : HostPaths{};
  if (host_root && *host_root == "/") {
    opts.paths = HostPaths{};
  }
  if (kubelet_root) {
    opts.paths.kubelet_root = *kubelet_root;
  }
  opts.node_name = node_name ? *node_name : default_node_name();
  opts.reserved_cpus = *reserved_cpus;

  // Logs go to stderr so stdout holds only the export.
  spdlog::set_default_logger(
      std::make_shared<spdlog::logger>("inspect", std::make_shared<spdlog::sinks::stderr_color_sink_mt>()));
  return print_numa_once(opts, format == "json", to_stderr ? std::cerr : std::cout);
}

int print_numa_once(const NumaOptions& opts, bool json, std::ostream& out) {
  NumaState state(opts, SystemClock::instance());
  const bool topology_ok = state.load_topology().has_value();
  state.refresh();
  const auto snap = state.snapshot();
  if (json) {
    boost::json::object doc{{"zones", numa_zones_json(*snap)}, {"numa", numa_debug_json(*snap)}};
    out << boost::json::serialize(doc) << "\n";
  } else {
    prometheus::TextSerializer().Serialize(out, numa_metric_families(*snap, VersionInfo::of_this_build()));
  }
  out.flush();
  if (!topology_ok) {
    std::cerr << "inspect numa: " << snap->topology_error << "\n";
    return 1;
  }
  return 0;
}

}  // namespace nodepack::numa
