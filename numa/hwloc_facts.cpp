#include "numa/hwloc_facts.hpp"

#include <hwloc.h>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>

namespace nodepack::numa {

std::string pci_class_name(unsigned class_id) {
  switch (class_id >> 8) {
    case 0x01:
      return "storage";
    case 0x02:
      return "network";
    case 0x03:
      return "display";
    case 0x04:
      return "multimedia";
    case 0x06:
      return "bridge";
    case 0x08:
      return "system";
    case 0x0b:
      return "processor";
    case 0x0c:
      return "serial";
    case 0x12:
      return "accelerator";
    default:
      return "other";
  }
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

// The child's side: discover, export, write to `fd`. Returns the exit code.
int discover_in_child(const std::filesystem::path& root, bool this_machine, int fd) {
  // hwloc hides the NUMA nodes NVIDIA drivers online GPU memory into; the kubelet sees them.
  if (::setenv("HWLOC_KEEP_NVIDIA_GPU_NUMA_NODES", "1", 1) != 0) {
    return 1;
  }
  if (!this_machine && ::setenv("HWLOC_FSROOT", root.c_str(), 1) != 0) {
    return 1;
  }
  auto topo = make_topology();
  if (!topo) {
    return 1;
  }
  if (!this_machine && !without_cpuid_backend(topo->get())) {
    return 1;
  }
  if (hwloc_topology_load(topo->get()) != 0) {
    return 1;
  }
  // A root without a usable sysfs makes hwloc fall back to "noos", which describes this machine
  // instead: only a Linux-backend topology is the root's.
  const char* backend = hwloc_obj_get_info_by_name(hwloc_get_root_obj(topo->get()), "Backend");
  if (!this_machine && (backend == nullptr || std::string_view(backend) != "Linux")) {
    return 1;
  }
  char* xml = nullptr;
  int len = 0;
  if (hwloc_topology_export_xmlbuffer(topo->get(), &xml, &len, 0) != 0) {
    return 1;
  }
  int code = 0;
  for (int off = 0; off < len;) {
    const ssize_t n = ::write(fd, xml + off, static_cast<std::size_t>(len - off));
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
  return code;
}

Result<std::string> discover_xml(const std::filesystem::path& root, bool this_machine) {
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
    // Child: the only process whose environment is changed.
    ::close(pipefd[0]);
    ::_exit(discover_in_child(root, this_machine, pipefd[1]));
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

Result<HwlocFacts> discover_hwloc(const HostPaths& paths) {
  const bool this_machine = paths.host_root.empty() || std::filesystem::path(paths.host_root).lexically_normal() == "/";
  if (!this_machine) {
    std::error_code ec;
    if (!std::filesystem::is_directory(paths.host_root, ec)) {
      return fail("host root " + paths.host_root.string() + " is not a directory");
    }
  }
  auto xml = discover_xml(this_machine ? std::filesystem::path("/") : paths.host_root, this_machine);
  if (!xml) {
    return xml.error();
  }
  auto topo = make_topology();
  if (!topo) {
    return topo.error();
  }
  hwloc_topology_t t = topo->get();
  if (hwloc_topology_set_xmlbuffer(t, xml->data(), static_cast<int>(xml->size() + 1)) != 0) {
    return fail("hwloc could not import the topology it discovered under " + paths.host_root.string());
  }
  if (hwloc_topology_load(t) != 0) {
    return fail(std::string("hwloc_topology_load: ") + std::strerror(errno));
  }

  HwlocFacts out;
  out.allowed_cpus = to_cpuset(hwloc_topology_get_allowed_cpuset(t));
  for (hwloc_obj_t pu = hwloc_get_next_obj_by_type(t, HWLOC_OBJ_PU, nullptr); pu != nullptr;
       pu = hwloc_get_next_obj_by_type(t, HWLOC_OBJ_PU, pu)) {
    hwloc_obj_t core = hwloc_get_ancestor_obj_by_type(t, HWLOC_OBJ_CORE, pu);
    if (core == nullptr) {
      continue;  // a PU without a core object: counted as a CPU, not as a core
    }
    hwloc_obj_t package = hwloc_get_ancestor_obj_by_type(t, HWLOC_OBJ_PACKAGE, core);
    out.cpus[static_cast<int>(pu->os_index)] =
        CpuPlace{core->logical_index, core->os_index, package != nullptr ? static_cast<int>(package->os_index) : -1};
  }
  for (hwloc_obj_t n = hwloc_get_next_obj_by_type(t, HWLOC_OBJ_NUMANODE, nullptr); n != nullptr;
       n = hwloc_get_next_obj_by_type(t, HWLOC_OBJ_NUMANODE, n)) {
    if (n->subtype != nullptr) {
      out.subtypes[n->os_index] = n->subtype;
    }
  }
  for (hwloc_obj_t dev = hwloc_get_next_pcidev(t, nullptr); dev != nullptr; dev = hwloc_get_next_pcidev(t, dev)) {
    HwlocPci p{to_pci(dev), std::nullopt};
    hwloc_obj_t anchor = hwloc_get_non_io_ancestor_obj(t, dev);
    if (anchor != nullptr && anchor->nodeset != nullptr && hwloc_bitmap_weight(anchor->nodeset) == 1) {
      p.locality_node = static_cast<unsigned>(hwloc_bitmap_first(anchor->nodeset));
    }
    out.pci.push_back(std::move(p));
  }
  return out;
}

}  // namespace nodepack::numa
