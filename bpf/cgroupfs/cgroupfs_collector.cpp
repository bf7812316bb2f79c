#include "bpf/cgroupfs/cgroupfs_collector.hpp"

#include "bpf/metrics.hpp"

#include <charconv>
#include <fstream>
#include <sstream>

namespace nodepack::bpf {
namespace fs = std::filesystem;

namespace {

std::optional<std::string> slurp(const fs::path& p) {
  std::ifstream in(p);
  if (!in) {
    return std::nullopt;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::optional<std::uint64_t> to_u64(std::string_view s) {
  std::uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || ptr != s.data() + s.size()) {
    return std::nullopt;
  }
  return v;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

std::map<std::string, std::uint64_t, std::less<>> parse_flat_keyed(std::string_view text) {
  std::map<std::string, std::uint64_t, std::less<>> out;
  std::istringstream in{std::string(text)};
  std::string key, value;
  while (in >> key >> value) {
    if (auto v = to_u64(value)) {
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
      auto v = to_u64(std::string_view(kv).substr(eq + 1));
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

std::optional<std::uint64_t> parse_single_value(std::string_view text) { return to_u64(trim(text)); }

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
  if (auto uevent = slurp(paths_.sysfs / "dev/block" / major_minor / "uevent")) {
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
  using prometheus::MetricType;
  auto usage = make_family("kpod_mem_cgroup_usage_bytes", "Current memory usage", MetricType::Gauge);
  auto peak = make_family("kpod_mem_cgroup_peak_bytes", "Peak memory usage", MetricType::Gauge);
  auto cache = make_family("kpod_mem_cgroup_cache_bytes", "Page cache usage", MetricType::Gauge);
  auto swap = make_family("kpod_mem_cgroup_swap_bytes", "Swap usage", MetricType::Gauge);
  auto pids = make_family("kpod_pids_current", "Processes and threads in the container", MetricType::Gauge);
  auto working_set =
      make_family("kpod_mem_cgroup_working_set_bytes",
                  "Working set: memory.current minus inactive_file, as the kubelet computes it", MetricType::Gauge);
  auto rss = make_family("kpod_mem_cgroup_rss_bytes", "Anonymous memory (memory.stat anon)", MetricType::Gauge);

  std::vector<std::pair<std::uint64_t, Counters>> read;
  for (const auto& cg : ctx.resolver.live_dirs()) {
    if (cg.level != CgroupResolver::Level::container) {
      continue;  // one series per container; pod level would double count
    }
    auto id = ctx.resolver.resolve(cg.id);
    if (!id || id->container.empty()) {
      continue;
    }
    auto labels = pod_labels(*id, ctx.node);
    auto gauge_file = [&](prometheus::MetricFamily& fam, const char* file) {
      if (auto text = slurp(cg.dir / file)) {
        if (auto v = parse_single_value(*text)) {
          fam.metric.push_back(gauge_metric(labels, static_cast<double>(*v)));
        }
      }
    };
    gauge_file(usage, "memory.current");
    gauge_file(peak, "memory.peak");
    gauge_file(swap, "memory.swap.current");
    gauge_file(pids, "pids.current");

    Counters c;
    if (auto text = slurp(cg.dir / "memory.stat")) {
      auto stat = parse_flat_keyed(*text);
      if (auto it = stat.find("file"); it != stat.end()) {
        cache.metric.push_back(gauge_metric(labels, static_cast<double>(it->second)));
      }
      if (auto it = stat.find("anon"); it != stat.end()) {
        rss.metric.push_back(gauge_metric(labels, static_cast<double>(it->second)));
      }
      if (auto it = stat.find("pgmajfault"); it != stat.end()) {
        c.pgmajfault = it->second;
      }
      if (auto it = stat.find("pgfault"); it != stat.end()) {
        c.pgfault = it->second;
      }
      auto inactive = stat.find("inactive_file");
      if (auto current = slurp(cg.dir / "memory.current"); current && inactive != stat.end()) {
        if (auto v = parse_single_value(*current)) {
          const std::uint64_t ws = *v > inactive->second ? *v - inactive->second : 0;
          working_set.metric.push_back(gauge_metric(labels, static_cast<double>(ws)));
        }
      }
    }
    if (auto text = slurp(cg.dir / "cpu.stat")) {
      auto stat = parse_flat_keyed(*text);
      c.cpu_usage_usec = stat["usage_usec"];
      c.cpu_throttled_usec = stat["throttled_usec"];
      c.cpu_nr_throttled = stat["nr_throttled"];
    }
    if (auto text = slurp(cg.dir / "io.stat")) {
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

  auto faults = make_family("kpod_mem_major_page_faults_total", "Major page faults", MetricType::Counter);
  auto all_faults = make_family("kpod_mem_page_faults_total", "Page faults, minor and major (memory.stat pgfault)",
                                MetricType::Counter);
  auto cpu = make_family("kpod_cpu_usage_seconds_total", "CPU time used by the container (cpu.stat usage_usec)",
                         MetricType::Counter);
  auto throttled = make_family("kpod_cpu_throttled_seconds_total", "Time the container was throttled by its CPU limit",
                               MetricType::Counter);
  auto throttled_periods = make_family("kpod_cpu_throttled_periods_total",
                                       "Scheduler periods in which the container was throttled", MetricType::Counter);
  auto rbytes = make_family("kpod_disk_read_bytes_total", "Bytes read from disk", MetricType::Counter);
  auto wbytes = make_family("kpod_disk_written_bytes_total", "Bytes written to disk", MetricType::Counter);
  auto rios = make_family("kpod_disk_reads_total", "Read operation count", MetricType::Counter);
  auto wios = make_family("kpod_disk_writes_total", "Write operation count", MetricType::Counter);
  for (const auto& r : rows) {
    auto labels = pod_labels(r.id, ctx.node);
    faults.metric.push_back(counter_metric(labels, static_cast<double>(r.value.pgmajfault)));
    all_faults.metric.push_back(counter_metric(labels, static_cast<double>(r.value.pgfault)));
    cpu.metric.push_back(counter_metric(labels, static_cast<double>(r.value.cpu_usage_usec) * 1e-6));
    throttled.metric.push_back(counter_metric(labels, static_cast<double>(r.value.cpu_throttled_usec) * 1e-6));
    throttled_periods.metric.push_back(counter_metric(labels, static_cast<double>(r.value.cpu_nr_throttled)));
    for (const auto& [dev, c] : r.value.io) {
      auto dl = pod_labels(r.id, ctx.node, {{"device", device_name(dev)}});
      rbytes.metric.push_back(counter_metric(dl, static_cast<double>(c.rbytes)));
      wbytes.metric.push_back(counter_metric(dl, static_cast<double>(c.wbytes)));
      rios.metric.push_back(counter_metric(dl, static_cast<double>(c.rios)));
      wios.metric.push_back(counter_metric(dl, static_cast<double>(c.wios)));
    }
  }
  for (auto* f : {&usage, &peak, &cache, &swap, &pids, &working_set, &rss, &faults, &all_faults, &cpu, &throttled,
                  &throttled_periods, &rbytes, &wbytes, &rios, &wios}) {
    out.push_back(std::move(*f));
  }
  return {};
}

}  // namespace nodepack::bpf
