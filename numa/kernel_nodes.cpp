#include "numa/kernel_nodes.hpp"

#include "common/files.hpp"
#include "common/strings.hpp"

#include <algorithm>
#include <charconv>
#include <sstream>
#include <string_view>

namespace nodepack::numa {

namespace fs = std::filesystem;

std::string hugepage_resource_name(std::uint64_t bytes) {
  static constexpr struct {
    std::uint64_t size;
    const char* suffix;
  } units[] = {{1ull << 60, "Ei"}, {1ull << 50, "Pi"}, {1ull << 40, "Ti"},
               {1ull << 30, "Gi"}, {1ull << 20, "Mi"}, {1ull << 10, "Ki"}};
  for (const auto& u : units) {
    if (bytes >= u.size && bytes % u.size == 0) {
      return "hugepages-" + std::to_string(bytes / u.size) + u.suffix;
    }
  }
  return "hugepages-" + std::to_string(bytes);
}

const KernelNode* KernelNodes::find(unsigned id) const {
  for (const auto& n : nodes) {
    if (n.id == id) {
      return &n;
    }
  }
  return nullptr;
}

namespace {

std::optional<std::uint64_t> read_u64(const fs::path& p) {
  auto text = read_small_file(p);
  return text ? parse_u64(trim(*text)) : std::nullopt;
}

// A sysfs list file ("0-3,8\n"; "\n" for none). nullopt when missing or malformed.
std::optional<CpuSet> read_list(const fs::path& p) {
  auto text = read_small_file(p);
  if (!text) {
    return std::nullopt;
  }
  auto set = CpuSet::parse(trim(*text));
  return set ? std::optional<CpuSet>(*set) : std::nullopt;
}

// "<prefix><number>" directory entries, e.g. node3 or cpu17.
std::vector<unsigned> numbered_entries(const fs::path& dir, std::string_view prefix) {
  std::vector<unsigned> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) {
      continue;
    }
    if (auto n = parse_u64(std::string_view(name).substr(prefix.size())); n && *n < (1u << 20)) {
      out.push_back(static_cast<unsigned>(*n));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// <dir>/hugepages-<N>kB/{nr,free}_hugepages, as the kernel lays them out per node and globally.
std::vector<Hugepages> read_hugepages(const fs::path& dir) {
  std::vector<Hugepages> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    constexpr std::string_view prefix = "hugepages-";
    if (name.rfind(prefix, 0) != 0 || name.size() < prefix.size() + 3 || name.substr(name.size() - 2) != "kB") {
      continue;
    }
    auto kb = parse_u64(std::string_view(name).substr(prefix.size(), name.size() - prefix.size() - 2));
    if (!kb) {
      continue;
    }
    Hugepages h;
    h.page_size_bytes = *kb * 1024;
    h.total_pages = read_u64(it->path() / "nr_hugepages").value_or(0);
    h.free_pages = read_u64(it->path() / "free_hugepages").value_or(0);
    out.push_back(h);
  }
  std::sort(out.begin(), out.end(),
            [](const Hugepages& a, const Hugepages& b) { return a.page_size_bytes < b.page_size_bytes; });
  return out;
}

// "MemTotal:  123 kB" (/proc/meminfo) or "Node 3 MemTotal:  123 kB" (a node's meminfo).
std::optional<std::uint64_t> meminfo_total(const std::string& text) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    const auto key = line.find("MemTotal:");
    if (key == std::string::npos) {
      continue;
    }
    std::string_view rest = trim(std::string_view(line).substr(key + 9));
    const auto space = rest.find(' ');
    auto kb = parse_u64(rest.substr(0, space));
    if (!kb) {
      return std::nullopt;
    }
    return *kb * 1024;
  }
  return std::nullopt;
}

std::vector<int> read_distances(const fs::path& p) {
  std::vector<int> out;
  auto text = read_small_file(p);
  if (!text) {
    return out;
  }
  std::istringstream in(*text);
  for (int v = 0; in >> v;) {
    out.push_back(v);
  }
  return out;
}

std::optional<MemoryAccess> read_access(const fs::path& node_dir) {
  const fs::path dir = node_dir / "access0/initiators";
  auto bw = read_u64(dir / "read_bandwidth");
  auto lat = read_u64(dir / "read_latency");
  if (!bw && !lat) {
    return std::nullopt;
  }
  MemoryAccess a;
  a.read_bandwidth_mbps = bw.value_or(0);
  a.read_latency_ns = lat.value_or(0);
  a.initiators = numbered_entries(dir, "node");
  return a;
}

// A cpumap file: comma-separated 32-bit hex words, most significant first.
std::optional<CpuSet> read_mask(const fs::path& p) {
  auto text = read_small_file(p);
  if (!text) {
    return std::nullopt;
  }
  std::vector<std::string_view> words;
  std::string_view rest = trim(*text);
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    words.push_back(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
  std::vector<int> ids;
  int base = 0;
  for (auto it = words.rbegin(); it != words.rend(); ++it, base += 32) {
    std::uint32_t v = 0;
    auto [ptr, ec] = std::from_chars(it->data(), it->data() + it->size(), v, 16);
    if (ec != std::errc() || ptr != it->data() + it->size() || base >= CpuSet::hard_cpu_limit) {
      return std::nullopt;
    }
    for (int bit = 0; bit < 32; ++bit) {
      if ((v >> bit) & 1u) {
        ids.push_back(base + bit);
      }
    }
  }
  return CpuSet(ids);
}

// A node's CPUs: cpulist, else cpumap (kernels before 2.6.27 have no cpulist), else the cpuN
// links, which is what cadvisor reads.
std::optional<CpuSet> node_cpus(const fs::path& dir) {
  if (auto list = read_list(dir / "cpulist")) {
    return list;
  }
  if (auto mask = read_mask(dir / "cpumap")) {
    return mask;
  }
  std::vector<int> ids;
  for (unsigned id : numbered_entries(dir, "cpu")) {
    ids.push_back(static_cast<int>(id));
  }
  return ids.empty() ? std::nullopt : std::optional<CpuSet>(CpuSet(ids));
}

// Online CPUs: the kernel's list, else every cpuN whose online file does not say 0 (cpu0 of
// x86 has none: it cannot go offline), as cadvisor decides.
CpuSet online_cpus_of(const fs::path& cpu_root, CpuSet& offline) {
  if (auto online = read_list(cpu_root / "online")) {
    // "possible" may name CPUs the machine could hot-add; "present" names those it has.
    const auto others = read_list(cpu_root / "present").value_or(read_list(cpu_root / "possible").value_or(CpuSet()));
    offline = others.without(*online);
    return *online;
  }
  std::vector<int> on;
  std::vector<int> off;
  for (unsigned id : numbered_entries(cpu_root, "cpu")) {
    const auto flag = read_u64(cpu_root / ("cpu" + std::to_string(id)) / "online");
    (flag && *flag == 0 ? off : on).push_back(static_cast<int>(id));
  }
  offline = CpuSet(off);
  return CpuSet(on);
}

}  // namespace

Result<KernelNodes> read_kernel_nodes(const HostPaths& paths) {
  KernelNodes out;
  const fs::path node_root = paths.sysfs / "devices/system/node";
  const fs::path cpu_root = paths.sysfs / "devices/system/cpu";
  out.online_cpus = online_cpus_of(cpu_root, out.offline_cpus);
  if (auto text = read_small_file(paths.procfs / "meminfo")) {
    out.memory_total_bytes = meminfo_total(*text);
  }

  const auto ids = numbered_entries(node_root, "node");
  if (ids.empty()) {
    // No NUMA in this kernel (or no sysfs at all): one node 0 with everything, as cadvisor does.
    if (out.online_cpus.empty()) {
      return fail("no NUMA nodes under " + node_root.string() + " and no CPUs under " + cpu_root.string());
    }
    out.numa_in_sysfs = false;
    KernelNode n;
    n.cpus = out.online_cpus;
    n.memory_bytes = out.memory_total_bytes.value_or(0);
    n.hugepages = read_hugepages(paths.sysfs / "kernel/mm/hugepages");
    n.distances = {10};
    out.nodes.push_back(std::move(n));
    return out;
  }

  CpuSet listed;
  for (unsigned id : ids) {
    const fs::path dir = node_root / ("node" + std::to_string(id));
    KernelNode n;
    n.id = id;
    auto cpus = node_cpus(dir);
    if (!cpus) {
      out.problems.push_back("node" + std::to_string(id) + " has no readable cpulist, cpumap or cpu links: no CPUs");
      cpus = CpuSet();
    }
    listed = listed.united(*cpus);
    n.cpus = cpus->intersected(out.online_cpus);
    n.offline_cpus = cpus->without(out.online_cpus);
    if (auto text = read_small_file(dir / "meminfo"); text && meminfo_total(*text)) {
      n.memory_bytes = *meminfo_total(*text);
    } else {
      out.problems.push_back("node" + std::to_string(id) + "/meminfo has no MemTotal: the node has no memory");
    }
    n.hugepages = read_hugepages(dir / "hugepages");
    n.distances = read_distances(dir / "distance");
    n.access = read_access(dir);
    out.nodes.push_back(std::move(n));
  }
  // The kernel prints one distance per online node, in node order; anything else cannot be
  // matched to nodes.
  for (auto& n : out.nodes) {
    if (!n.distances.empty() && n.distances.size() != out.nodes.size()) {
      out.problems.push_back("node" + std::to_string(n.id) + "/distance has " + std::to_string(n.distances.size()) +
                             " entries for " + std::to_string(out.nodes.size()) + " nodes: ignored");
      n.distances.clear();
    }
  }
  if (out.online_cpus.empty()) {
    // Neither cpu/online nor cpuN directories: the nodes' lists are all we know.
    out.online_cpus = listed;
    for (auto& n : out.nodes) {
      n.cpus = n.cpus.united(n.offline_cpus);
      n.offline_cpus = CpuSet();
    }
  }
  return out;
}

}  // namespace nodepack::numa
