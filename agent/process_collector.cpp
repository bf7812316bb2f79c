#include "agent/process_collector.hpp"

#include "agent/metric_families.hpp"

#include <unistd.h>
#include <fstream>
#include <sstream>

#ifndef NODEPACK_VERSION
#define NODEPACK_VERSION "dev"
#endif
#ifndef NODEPACK_REVISION
#define NODEPACK_REVISION "unknown"
#endif

namespace nodepack::metrics {
namespace {

std::string read_all(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

ProcessCollector::ProcessCollector(std::filesystem::path procfs) : procfs_(std::move(procfs)) {}

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
  std::vector<prometheus::MetricFamily> out;
  const std::string stat = read_all(procfs_ / "self" / "stat");
  // The command name may contain spaces and parentheses; fields restart after the last ')'.
  const auto close = stat.rfind(')');
  if (close == std::string::npos) {
    return out;
  }
  std::istringstream fields(stat.substr(close + 2));
  std::vector<std::string> f;
  for (std::string field; fields >> field;) {
    f.push_back(field);
  }
  // f[0] is field 3 (state): utime=14, stime=15, starttime=22, vsize=23, rss=24.
  if (f.size() < 22) {
    return out;
  }
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  const double cpu = (std::stod(f[11]) + std::stod(f[12])) / ticks;
  double boot_time = 0;
  {
    std::istringstream proc_stat(read_all(procfs_ / "stat"));
    for (std::string line; std::getline(proc_stat, line);) {
      if (line.rfind("btime ", 0) == 0) {
        boot_time = std::stod(line.substr(6));
      }
    }
  }
  std::size_t fds = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(procfs_ / "self" / "fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++fds;
  }
  double max_fds = 0;
  {
    std::istringstream limits(read_all(procfs_ / "self" / "limits"));
    for (std::string line; std::getline(limits, line);) {
      if (line.rfind("Max open files", 0) == 0) {
        std::istringstream l(line.substr(14));
        std::string soft;
        l >> soft;
        max_fds = soft == "unlimited" ? 0 : std::stod(soft);
      }
    }
  }

  auto add = [&out](prometheus::MetricFamily family, double v) {
    add_sample(family, {}, v);
    out.push_back(std::move(family));
  };
  add(counter_family("process_cpu_seconds_total", "Total user and system CPU time spent in seconds."), cpu);
  add(gauge_family("process_open_fds", "Number of open file descriptors."), static_cast<double>(fds));
  add(gauge_family("process_max_fds", "Maximum number of open file descriptors."), max_fds);
  add(gauge_family("process_virtual_memory_bytes", "Virtual memory size in bytes."), std::stod(f[20]));
  add(gauge_family("process_resident_memory_bytes", "Resident memory size in bytes."), std::stod(f[21]) * page);
  add(gauge_family("process_start_time_seconds", "Start time of the process since unix epoch in seconds."),
      boot_time + std::stod(f[19]) / ticks);
  return out;
}

std::vector<prometheus::MetricFamily> BuildInfoCollector::Collect() const {
  auto f = gauge_family("nodepack_build_info",
                        "A metric with a constant '1' value labeled by version, revision and compiler.");
  add_sample(f, {{"version", nodepack_version()}, {"revision", nodepack_revision()}, {"compiler", compiler_version()}},
             1);
  return {std::move(f)};
}

std::string nodepack_version() { return NODEPACK_VERSION; }
std::string nodepack_revision() { return NODEPACK_REVISION; }
std::string compiler_version() {
#if defined(__clang__)
  return "clang " __clang_version__;
#elif defined(__GNUC__)
  return "gcc " __VERSION__;
#else
  return "unknown";
#endif
}

}  // namespace nodepack::metrics
