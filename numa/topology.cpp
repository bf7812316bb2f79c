#include "numa/topology.hpp"

#include <hwloc.h>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string_view>

namespace nodepack::numa {

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

const NumaNode* Topology::find(unsigned id) const {
  for (const auto& n : nodes) {
    if (n.id == id) {
      return &n;
    }
  }
  return nullptr;
}

namespace {

struct TopologyDeleter {
  void operator()(hwloc_topology* t) const { hwloc_topology_destroy(t); }
};
using TopologyPtr = std::unique_ptr<hwloc_topology, TopologyDeleter>;

CpuSet to_cpuset(hwloc_const_bitmap_t bitmap) {
  std::vector<int> ids;
  if (bitmap == nullptr || hwloc_bitmap_weight(bitmap) < 0) {
    return CpuSet();  // NULL or infinite
  }
  int id = -1;
  while ((id = hwloc_bitmap_next(bitmap, id)) != -1) {
    ids.push_back(id);
  }
  return CpuSet(std::move(ids));
}

// Common configuration for the discovering topology and the one importing its XML.
Result<TopologyPtr> make_topology() {
  hwloc_topology_t raw = nullptr;
  if (hwloc_topology_init(&raw) != 0) {
    return fail("hwloc_topology_init failed");
  }
  TopologyPtr topo(raw);
  // Capacity is the machine's: keep CPUs and nodes outside our cgroup cpuset.
  if (hwloc_topology_set_flags(raw, HWLOC_TOPOLOGY_FLAG_INCLUDE_DISALLOWED) != 0) {
    return fail("hwloc: cannot include disallowed resources");
  }
  hwloc_topology_set_io_types_filter(raw, HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
  return topo;
}

// The x86 backend (CPUID) would describe the CPU we run on, not the root's, so it is turned off.
// hwloc has that backend only when built for x86; elsewhere (arm64) there is nothing to turn
// off, and asking to would fail: hwloc refuses to blacklist a component it does not have.
bool without_cpuid_backend(hwloc_topology_t topo) {
#if defined(__x86_64__) || defined(__i386__)
  return hwloc_topology_set_components(topo, HWLOC_TOPOLOGY_COMPONENTS_FLAG_BLACKLIST, "x86") == 0;
#else
  (void)topo;
  return true;
#endif
}

Result<std::string> discover_xml_under(const std::filesystem::path& root) {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) {
    return fail(std::string("pipe: ") + std::strerror(errno));
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(pipefd[0]);
    ::close(pipefd[1]);
    return fail(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    // Child: the only process whose environment names the root.
    ::close(pipefd[0]);
    int code = 1;
    if (::setenv("HWLOC_FSROOT", root.c_str(), 1) == 0) {
      auto topo = make_topology();
      // A root without a usable sysfs makes hwloc fall back to "noos", which describes this
      // machine instead: only a Linux-backend topology is the root's.
      const char* backend = nullptr;
      if (topo && without_cpuid_backend(topo->get()) && hwloc_topology_load(topo->get()) == 0 &&
          (backend = hwloc_obj_get_info_by_name(hwloc_get_root_obj(topo->get()), "Backend")) != nullptr &&
          std::string_view(backend) == "Linux") {
        char* xml = nullptr;
        int len = 0;
        if (hwloc_topology_export_xmlbuffer(topo->get(), &xml, &len, 0) == 0) {
          code = 0;
          for (int off = 0; off < len;) {
            const ssize_t n = ::write(pipefd[1], xml + off, static_cast<std::size_t>(len - off));
            if (n <= 0) {
              if (n < 0 && errno == EINTR) {
                continue;
              }
              code = 1;
              break;
            }
            off += static_cast<int>(n);
          }
          hwloc_free_xmlbuffer(topo->get(), xml);
        }
      }
    }
    ::_exit(code);
  }
  ::close(pipefd[1]);
  std::string xml;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(pipefd[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    xml.append(buf, static_cast<std::size_t>(n));
    if (xml.size() > (256u << 20)) {
      break;
    }
  }
  ::close(pipefd[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || xml.empty()) {
    return fail("hwloc could not discover a topology under " + root.string());
  }
  return xml;
}

std::optional<std::uint64_t> read_u64(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::uint64_t v = 0;
  if (!(in >> v)) {
    return std::nullopt;
  }
  return v;
}

// A sysfs list file ("0-3,8\n"); empty when unreadable.
CpuSet read_cpulist(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::string text;
  std::getline(in, text);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
    text.pop_back();
  }
  auto set = CpuSet::parse(text);
  return set ? *set : CpuSet();
}

// <dir>/hugepages-<N>kB/{nr,free}_hugepages, as the kernel lays them out per node and globally.
std::vector<Hugepages> read_hugepages(const std::filesystem::path& dir) {
  std::vector<Hugepages> out;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    constexpr std::string_view prefix = "hugepages-";
    if (name.rfind(prefix, 0) != 0 || name.size() < prefix.size() + 3 || name.substr(name.size() - 2) != "kB") {
      continue;
    }
    std::uint64_t kb = 0;
    const char* first = name.data() + prefix.size();
    const char* last = name.data() + name.size() - 2;
    auto [ptr, perr] = std::from_chars(first, last, kb);
    if (perr != std::errc() || ptr != last) {
      continue;
    }
    Hugepages h;
    h.page_size_bytes = kb * 1024;
    h.total_pages = read_u64(it->path() / "nr_hugepages").value_or(0);
    h.free_pages = read_u64(it->path() / "free_hugepages").value_or(0);
    out.push_back(h);
  }
  std::sort(out.begin(), out.end(),
            [](const Hugepages& a, const Hugepages& b) { return a.page_size_bytes < b.page_size_bytes; });
  return out;
}

PciDevice to_pci(hwloc_obj_t obj) {
  PciDevice d;
  const auto& a = obj->attr->pcidev;
  char bus[32];
  std::snprintf(bus, sizeof bus, "%04x:%02x:%02x.%01x", static_cast<unsigned>(a.domain), a.bus, a.dev, a.func);
  d.bus_id = bus;
  d.vendor_id = a.vendor_id;
  d.device_id = a.device_id;
  d.class_id = a.class_id;
  return d;
}

}  // namespace

Result<Topology> load_topology(const HostPaths& paths) {
  const bool this_machine = paths.host_root.empty() || std::filesystem::path(paths.host_root).lexically_normal() == "/";
  auto topo = make_topology();
  if (!topo) {
    return topo.error();
  }
  hwloc_topology_t t = topo->get();
  Topology out;
  if (this_machine) {
    out.source = "host";
  } else {
    std::error_code ec;
    if (!std::filesystem::is_directory(paths.host_root, ec)) {
      return fail("host root " + paths.host_root.string() + " is not a directory");
    }
    auto xml = discover_xml_under(paths.host_root);
    if (!xml) {
      return xml.error();
    }
    if (hwloc_topology_set_xmlbuffer(t, xml->data(), static_cast<int>(xml->size() + 1)) != 0) {
      return fail("hwloc could not import the topology discovered under " + paths.host_root.string());
    }
    out.source = paths.host_root.string();
  }
  if (hwloc_topology_load(t) != 0) {
    return fail(std::string("hwloc_topology_load: ") + std::strerror(errno));
  }

  hwloc_obj_t root = hwloc_get_root_obj(t);
  out.online_cpus = to_cpuset(root->cpuset);
  out.offline_cpus = to_cpuset(root->complete_cpuset).without(out.online_cpus);
  out.disallowed_cpus = out.online_cpus.without(to_cpuset(hwloc_topology_get_allowed_cpuset(t)));

  const std::filesystem::path node_root = paths.sysfs / "devices/system/node";
  std::error_code ec;
  const bool sysfs_has_nodes = std::filesystem::exists(node_root / "node0", ec) || [&] {
    for (std::filesystem::directory_iterator it(node_root, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->path().filename().string().rfind("node", 0) == 0) {
        return true;
      }
    }
    return false;
  }();

  CpuSet claimed;
  for (hwloc_obj_t n = hwloc_get_next_obj_by_type(t, HWLOC_OBJ_NUMANODE, nullptr); n != nullptr;
       n = hwloc_get_next_obj_by_type(t, HWLOC_OBJ_NUMANODE, n)) {
    NumaNode node;
    node.id = n->os_index;
    node.cpus = to_cpuset(n->cpuset);
    // hwloc leaves offline CPUs out of every set but the machine's; sysfs still lists them.
    node.offline_cpus = to_cpuset(n->complete_cpuset)
                            .united(read_cpulist(node_root / ("node" + std::to_string(node.id)) / "cpulist"))
                            .intersected(out.offline_cpus);
    node.memory_bytes = n->attr->numanode.local_memory;
    claimed = claimed.united(node.cpus);
    for (int id : node.cpus.ids()) {
      hwloc_obj_t pu = hwloc_get_pu_obj_by_os_index(t, static_cast<unsigned>(id));
      hwloc_obj_t core = pu != nullptr ? hwloc_get_ancestor_obj_by_type(t, HWLOC_OBJ_CORE, pu) : nullptr;
      if (core == nullptr) {
        continue;  // a PU without a core object: counted as a CPU, not as a core
      }
      auto it = std::find_if(node.cores.begin(), node.cores.end(),
                             [&](const Core& c) { return c.logical_index == core->logical_index; });
      if (it == node.cores.end()) {
        Core c;
        c.logical_index = core->logical_index;
        c.os_index = core->os_index;
        hwloc_obj_t package = hwloc_get_ancestor_obj_by_type(t, HWLOC_OBJ_PACKAGE, core);
        c.package = package != nullptr ? static_cast<int>(package->os_index) : -1;
        node.cores.push_back(c);
        it = std::prev(node.cores.end());
      }
      it->cpus = it->cpus.united(CpuSet{id});
    }
    std::sort(node.cores.begin(), node.cores.end(),
              [](const Core& a, const Core& b) { return a.logical_index < b.logical_index; });
    if (sysfs_has_nodes) {
      node.hugepages = read_hugepages(node_root / ("node" + std::to_string(node.id)) / "hugepages");
    }
    out.nodes.push_back(std::move(node));
  }
  std::sort(out.nodes.begin(), out.nodes.end(), [](const NumaNode& a, const NumaNode& b) { return a.id < b.id; });
  if (!sysfs_has_nodes && out.nodes.size() == 1) {
    // A kernel without NUMA support: the machine-wide pools are the one node's.
    out.nodes[0].hugepages = read_hugepages(paths.sysfs / "kernel/mm/hugepages");
  }
  out.cpus_without_node = out.online_cpus.without(claimed);

  for (hwloc_obj_t dev = hwloc_get_next_pcidev(t, nullptr); dev != nullptr; dev = hwloc_get_next_pcidev(t, dev)) {
    hwloc_obj_t anchor = hwloc_get_non_io_ancestor_obj(t, dev);
    NumaNode* target = nullptr;
    if (anchor != nullptr && anchor->nodeset != nullptr && hwloc_bitmap_weight(anchor->nodeset) == 1) {
      const unsigned id = static_cast<unsigned>(hwloc_bitmap_first(anchor->nodeset));
      for (auto& n : out.nodes) {
        if (n.id == id) {
          target = &n;
        }
      }
    }
    (target != nullptr ? target->pci_devices : out.pci_without_node).push_back(to_pci(dev));
  }
  return out;
}

}  // namespace nodepack::numa
