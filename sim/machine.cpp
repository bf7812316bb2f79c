#include "sim/machine.hpp"

#include "common/host_paths.hpp"
#include "numa/kernel_nodes.hpp"

#include <algorithm>
#include <fstream>
#include <set>

namespace nodepack::sim {
namespace fs = std::filesystem;

namespace {

std::string first_line(const fs::path& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  return line;
}

// The value of "GPU UUID:" in the driver's information file; empty when there is none.
std::string gpu_uuid(const fs::path& information) {
  std::ifstream in(information);
  std::string line;
  constexpr std::string_view key = "GPU UUID:";
  while (std::getline(in, line)) {
    if (line.starts_with(key)) {
      const auto begin = line.find_first_not_of(" \t", key.size());
      return begin == std::string::npos ? std::string()
                                        : line.substr(begin, line.find_last_not_of(" \t\r") + 1 - begin);
    }
  }
  return {};
}

// The NVIDIA GPUs the driver lists, by bus id, each with its PCI device's NUMA node.
std::vector<MachineGpu> read_gpus(const fs::path& host_root) {
  std::set<fs::path> buses;
  std::error_code ec;
  for (fs::directory_iterator it(host_root / "proc/driver/nvidia/gpus", ec), end; !ec && it != end; it.increment(ec)) {
    buses.insert(it->path());
  }
  std::vector<MachineGpu> gpus;
  for (const auto& bus : buses) {
    MachineGpu gpu{gpu_uuid(bus / "information"), -1};
    if (gpu.id.empty()) {
      continue;  // no device plugin can name it
    }
    try {
      gpu.numa_node = std::stoi(first_line(host_root / "sys/bus/pci/devices" / bus.filename() / "numa_node"));
    } catch (const std::exception&) {
      gpu.numa_node = -1;
    }
    gpus.push_back(std::move(gpu));
  }
  return gpus;
}

}  // namespace

std::map<std::string, std::uint64_t> Machine::hugepages() const {
  std::map<std::string, std::uint64_t> total;
  for (const auto& n : nodes) {
    for (const auto& [name, bytes] : n.hugepages) {
      total[name] += bytes;
    }
  }
  return total;
}

Result<Machine> Machine::read(const fs::path& host_root) {
  const fs::path dir = host_root / "sys/devices/system/node";
  std::error_code ec;
  std::map<int, numa::CpuSet> found;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with("node") || name.size() == 4 ||
        !std::all_of(name.begin() + 4, name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      continue;
    }
    std::ifstream in(entry.path() / "cpulist");
    std::string list;
    std::getline(in, list);
    auto cpus = numa::CpuSet::parse(list);
    if (!in && !in.eof()) {
      return fail("cannot read " + (entry.path() / "cpulist").string());
    }
    if (!cpus) {
      return fail((entry.path() / "cpulist").string() + ": " + cpus.error().message);
    }
    found[std::stoi(name.substr(4))] = *cpus;
  }
  if (ec || found.empty()) {
    return fail("no NUMA nodes under " + dir.string() + (ec ? ": " + ec.message() : ""));
  }
  // Memory and hugepages as the agent reads them, so both see the same machine.
  auto kernel = numa::read_kernel_nodes(HostPaths::under(host_root));
  if (!kernel) {
    return fail(kernel.error().message);
  }
  Machine m;
  for (const auto& [id, cpus] : found) {
    m.cpus = m.cpus.united(cpus);
    MachineNode node{id, cpus};
    if (const auto* k = kernel->find(static_cast<unsigned>(id))) {
      node.memory = k->memory_bytes;
      for (const auto& h : k->hugepages) {  // sizes without pages too: the kubelet lists them
        node.hugepages[numa::hugepage_resource_name(h.page_size_bytes)] = h.page_size_bytes * h.total_pages;
      }
    }
    m.memory_bytes += node.memory;
    m.nodes.push_back(std::move(node));
  }
  m.gpus = read_gpus(host_root);
  return m;
}

}  // namespace nodepack::sim
