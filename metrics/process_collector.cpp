#include "metrics/process_collector.hpp"

#include "metrics/family.hpp"

#include <unistd.h>
#include <fstream>
#include <sstream>

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

  emit(
      out,
      Family::counter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.").add({}, cpu),
      Family::gauge("process_open_fds", "Number of open file descriptors.").add({}, static_cast<double>(fds)),
      Family::gauge("process_max_fds", "Maximum number of open file descriptors.").add({}, max_fds),
      Family::gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.").add({}, std::stod(f[20])),
      Family::gauge("process_resident_memory_bytes", "Resident memory size in bytes.").add({}, std::stod(f[21]) * page),
      Family::gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.")
          .add({}, boot_time + std::stod(f[19]) / ticks));
  return out;
}

}  // namespace nodepack::metrics
