#include "kpod/cgroupfs/cgroupfs_collector.hpp"

#include "common/files.hpp"
#include "common/strings.hpp"

#include <charconv>
#include <sstream>

namespace nodepack::kpod {
namespace fs = std::filesystem;

std::map<std::string, std::uint64_t, std::less<>> parse_flat_keyed(std::string_view text) {
  std::map<std::string, std::uint64_t, std::less<>> out;
  std::istringstream in{std::string(text)};
  std::string key, value;
  while (in >> key >> value) {
    if (auto v = parse_u64(value)) {
      out[key] = *v;
    }
  }
  return out;
}

std::map<std::string, CgroupFsCollector::IoCounts> parse_io_stat(std::string_view text) {
  std::map<std::string, CgroupFsCollector::IoCounts> out;
  std::istringstream lines{std::string(text)};
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::string dev, kv;
    if (!(words >> dev) || dev.find(':') == std::string::npos) {
      continue;
    }
    CgroupFsCollector::IoCounts c;
    while (words >> kv) {
      auto eq = kv.find('=');
      if (eq == std::string::npos) {
        continue;
      }
      auto v = parse_u64(std::string_view(kv).substr(eq + 1));
      if (!v) {
        continue;
      }
      std::string_view k(kv.data(), eq);
      if (k == "rbytes") {
        c.rbytes = *v;
      } else if (k == "wbytes") {
        c.wbytes = *v;
      } else if (k == "rios") {
        c.rios = *v;
      } else if (k == "wios") {
        c.wios = *v;
      }
    }
    out[dev] = c;
  }
  return out;
}

std::optional<std::uint64_t> parse_single_value(std::string_view text) { return parse_u64(trim(text)); }

CgroupFsCollector::Counters& CgroupFsCollector::Counters::operator+=(const Counters& o) {
  for (const auto& [dev, c] : o.io) {
    auto& mine = io[dev];
    mine.rbytes += c.rbytes;
    mine.wbytes += c.wbytes;
    mine.rios += c.rios;
    mine.wios += c.wios;
  }
  pgmajfault += o.pgmajfault;
  pgfault += o.pgfault;
  cpu_usage_usec += o.cpu_usage_usec;
  cpu_throttled_usec += o.cpu_throttled_usec;
  cpu_nr_throttled += o.cpu_nr_throttled;
  return *this;
}

CgroupFsCollector::CgroupFsCollector(HostPaths paths) : paths_(std::move(paths)) {}

Result<void> CgroupFsCollector::start() { return {}; }

std::string CgroupFsCollector::device_name(const std::string& major_minor) {
  if (auto it = device_names_.find(major_minor); it != device_names_.end()) {
    return it->second;
  }
  std::string name = major_minor;  // fall back to the number when sysfs does not say
  if (auto uevent = read_small_file(paths_.sysfs / "dev/block" / major_minor / "uevent")) {
    std::istringstream in(*uevent);
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("DEVNAME=", 0) == 0) {
        name = line.substr(8);
      }
    }
  }
  device_names_[major_minor] = name;
  return name;
}

Result<void> CgroupFsCollector::collect(const ScrapeContext& ctx, std::vector<prometheus::MetricFamily>& out) {
  auto usage = metrics::Family::gauge("kpod_mem_cgroup_usage_bytes", "Current memory usage");
  auto peak = metrics::Family::gauge("kpod_mem_cgroup_peak_bytes", "Peak memory usage");
  auto cache = metrics::Family::gauge("kpod_mem_cgroup_cache_bytes", "Page cache usage");
  auto swap = metrics::Family::gauge("kpod_mem_cgroup_swap_bytes", "Swap usage");
  auto pids = metrics::Family::gauge("kpod_pids_current", "Processes and threads in the container");
  auto working_set =
      metrics::Family::gauge("kpod_mem_cgroup_working_set_bytes",
                             "Working set: memory.current minus inactive_file, as the kubelet computes it");
  auto rss = metrics::Family::gauge("kpod_mem_cgroup_rss_bytes", "Anonymous memory (memory.stat anon)");

  std::vector<std::pair<std::uint64_t, Counters>> read;
  for (const auto& cg : *ctx.resolver.live_dirs()) {
    if (cg.level != cgroup::CgroupResolver::Level::container) {
      continue;  // one series per container; pod level would double count
    }
    auto id = ctx.resolve(cg.id);
    if (!id || id->container.empty()) {
      continue;
    }
    auto labels = ctx.labels(*id);
    const OpenDir dir(cg.dir);
    auto gauge_file = [&](metrics::Family& fam, const char* file) -> std::optional<std::uint64_t> {
      if (auto text = dir.read(file)) {
        if (auto v = parse_single_value(*text)) {
          fam.add(labels, static_cast<double>(*v));
          return v;
        }
      }
      return std::nullopt;
    };
    const auto current = gauge_file(usage, "memory.current");  // read once: the working set too
    gauge_file(peak, "memory.peak");
    gauge_file(swap, "memory.swap.current");
    gauge_file(pids, "pids.current");

    // cpu.stat and memory.stat exist in every kubepods cgroup (the kubelet enables both
    // controllers), so failing to read one whose directory is still there is an error worth an
    // alert; the optional files (memory.peak, memory.swap.current, io.stat) are not.
    auto required = [&](const char* file) {
      auto text = dir.read(file);
      std::error_code ec;
      if (!text && fs::exists(cg.dir, ec)) {
        ++read_errors_;
      }
      return text;
    };
    Counters c;
    if (auto text = required("memory.stat")) {
      auto stat = parse_flat_keyed(*text);
      if (auto it = stat.find("file"); it != stat.end()) {
        cache.add(labels, static_cast<double>(it->second));
      }
      if (auto it = stat.find("anon"); it != stat.end()) {
        rss.add(labels, static_cast<double>(it->second));
      }
      if (auto it = stat.find("pgmajfault"); it != stat.end()) {
        c.pgmajfault = it->second;
      }
      if (auto it = stat.find("pgfault"); it != stat.end()) {
        c.pgfault = it->second;
      }
      if (auto inactive = stat.find("inactive_file"); current && inactive != stat.end()) {
        const std::uint64_t ws = *current > inactive->second ? *current - inactive->second : 0;
        working_set.add(labels, static_cast<double>(ws));
      }
    }
    if (auto text = required("cpu.stat")) {
      auto stat = parse_flat_keyed(*text);
      c.cpu_usage_usec = stat["usage_usec"];
      c.cpu_throttled_usec = stat["throttled_usec"];
      c.cpu_nr_throttled = stat["nr_throttled"];
    }
    if (auto text = dir.read("io.stat")) {
      c.io = parse_io_stat(*text);
    }
    last_counters_[cg.id] = c;
    read.emplace_back(cg.id, std::move(c));
  }
  // Cgroups removed since the last scrape: their files are gone, export the last values read.
  for (auto it = last_counters_.begin(); it != last_counters_.end();) {
    if (ctx.removed.contains(it->first)) {
      read.emplace_back(it->first, it->second);
      it = last_counters_.erase(it);
    } else {
      ++it;
    }
  }
  std::vector<std::uint64_t> drop;
  auto rows = series_.fold(ctx, read, drop);

  auto faults = metrics::Family::counter("kpod_mem_major_page_faults_total", "Major page faults");
  auto all_faults =
      metrics::Family::counter("kpod_mem_page_faults_total", "Page faults, minor and major (memory.stat pgfault)");
  auto cpu =
      metrics::Family::counter("kpod_cpu_usage_seconds_total", "CPU time used by the container (cpu.stat usage_usec)");
  auto throttled =
      metrics::Family::counter("kpod_cpu_throttled_seconds_total", "Time the container was throttled by its CPU limit");
  auto throttled_periods = metrics::Family::counter("kpod_cpu_throttled_periods_total",
                                                    "Scheduler periods in which the container was throttled");
  auto rbytes = metrics::Family::counter("kpod_disk_read_bytes_total", "Bytes read from disk");
  auto wbytes = metrics::Family::counter("kpod_disk_written_bytes_total", "Bytes written to disk");
  auto rios = metrics::Family::counter("kpod_disk_reads_total", "Read operation count");
  auto wios = metrics::Family::counter("kpod_disk_writes_total", "Write operation count");
  for (const auto& r : rows) {
    auto labels = ctx.labels(r.id);
    faults.add(labels, static_cast<double>(r.value.pgmajfault));
    all_faults.add(labels, static_cast<double>(r.value.pgfault));
    cpu.add(labels, static_cast<double>(r.value.cpu_usage_usec) * 1e-6);
    throttled.add(labels, static_cast<double>(r.value.cpu_throttled_usec) * 1e-6);
    throttled_periods.add(labels, static_cast<double>(r.value.cpu_nr_throttled));
    for (const auto& [dev, c] : r.value.io) {
      auto dl = ctx.labels(r.id, {{"device", device_name(dev)}});
      rbytes.add(dl, static_cast<double>(c.rbytes));
      wbytes.add(dl, static_cast<double>(c.wbytes));
      rios.add(dl, static_cast<double>(c.rios));
      wios.add(dl, static_cast<double>(c.wios));
    }
  }
  metrics::emit(out, usage, peak, cache, swap, pids, working_set, rss, faults, all_faults, cpu, throttled,
                throttled_periods, rbytes, wbytes, rios, wios);
  return {};
}

}  // namespace nodepack::kpod
