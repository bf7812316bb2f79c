#include "sim/simulated_kubelet.hpp"

#include "kube/pod.hpp"
#include "numa/checkpoint.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

namespace nodepack::sim {
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

// "Node 0 MemTotal:       8388608 kB" in a node's meminfo, in bytes; 0 when absent.
std::uint64_t meminfo_total(const fs::path& meminfo) {
  std::ifstream in(meminfo);
  std::string line;
  while (std::getline(in, line)) {
    const auto key = line.find("MemTotal:");
    if (key != std::string::npos) {
      return std::stoull(line.substr(key + 9)) * 1024;
    }
  }
  return 0;
}

}  // namespace

Result<Machine> Machine::read(const fs::path& host_root) {
  const fs::path nodes = host_root / "sys/devices/system/node";
  std::error_code ec;
  std::map<int, numa::CpuSet> found;
  std::uint64_t memory = 0;
  for (const auto& entry : fs::directory_iterator(nodes, ec)) {
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
    memory += meminfo_total(entry.path() / "meminfo");
  }
  if (ec || found.empty()) {
    return fail("no NUMA nodes under " + nodes.string() + (ec ? ": " + ec.message() : ""));
  }
  Machine m;
  m.memory_bytes = memory;
  m.numa_nodes.resize(static_cast<std::size_t>(found.rbegin()->first) + 1);
  for (const auto& [id, cpus] : found) {
    m.numa_nodes[static_cast<std::size_t>(id)] = cpus;
    m.cpus = m.cpus.united(cpus);
  }
  return m;
}

SimulatedKubelet::SimulatedKubelet(std::string node, Machine machine, numa::CpuSet reserved, fs::path kubelet_dir)
    : node_(std::move(node)),
      machine_(std::move(machine)),
      reserved_(std::move(reserved)),
      dir_(std::move(kubelet_dir)) {}

numa::CpuSet SimulatedKubelet::shared_pool() const {
  numa::CpuSet pool = machine_.cpus.without(reserved_);
  for (const auto& [uid, containers] : assigned_) {
    for (const auto& [name, cpus] : containers) {
      pool = pool.without(cpus);
    }
  }
  return pool;
}

// `count` free CPUs, all on one NUMA node when one has that many (the fullest such node, so the
// others keep room for large pods), else spread from the lowest ids. None when the shared pool
// would be left empty: the kubelet keeps at least one shared CPU.
std::optional<numa::CpuSet> SimulatedKubelet::take(unsigned count) {
  const numa::CpuSet pool = shared_pool();
  if (count == 0 || pool.size() <= count) {
    return std::nullopt;
  }
  std::optional<numa::CpuSet> best;
  for (const auto& node_cpus : machine_.numa_nodes) {
    const numa::CpuSet free = pool.intersected(node_cpus);
    if (free.size() >= count && (!best || free.size() < best->size())) {
      best = free;
    }
  }
  const std::vector<int> ids = (best ? *best : pool).ids();
  return numa::CpuSet(std::vector<int>(ids.begin(), ids.begin() + count));
}

Result<void> SimulatedKubelet::sync(const std::vector<json::object>& pods) {
  bool changed = !written_;
  std::set<std::string> alive;
  for (const auto& object : pods) {
    auto pod = kube::parse_pod(json::value(object));
    if (!pod || pod->node_name != node_ || pod->phase == "Succeeded" || pod->phase == "Failed" ||
        pod->is_terminating()) {
      continue;
    }
    alive.insert(pod->uid);
    if (!pod->is_guaranteed() || assigned_.contains(pod->uid)) {
      continue;  // assignments last as long as the pod, as the kubelet's do
    }
    std::map<std::string, numa::CpuSet> containers;
    for (const auto& c : pod->containers) {
      const auto cpu = c.requests.find("cpu");
      if (cpu == c.requests.end() || cpu->second.milli_value_ceil() % 1000 != 0) {
        continue;  // fractional CPUs share the pool
      }
      if (auto cpus = take(static_cast<unsigned>(cpu->second.milli_value_ceil() / 1000))) {
        containers[c.name] = *cpus;
        assigned_[pod->uid] = containers;  // visible to take() for the next container
      }
    }
    if (!containers.empty()) {
      changed = true;
    }
  }
  for (auto it = assigned_.begin(); it != assigned_.end();) {
    if (!alive.contains(it->first)) {
      it = assigned_.erase(it);
      changed = true;
    } else {
      ++it;
    }
  }
  return changed ? write() : Result<void>{};
}

// The v2 checkpoint with the kubelet's checksum: the content with a placeholder, hashed as the
// kubelet hashes it by the same code the agent verifies files with.
Result<void> SimulatedKubelet::write() {
  json::object entries;
  for (const auto& [uid, containers] : assigned_) {
    json::object c;
    for (const auto& [name, cpus] : containers) {
      c[name] = cpus.to_string();
    }
    entries[uid] = std::move(c);
  }
  json::object doc{{"policyName", "static"},
                   {"defaultCpuSet", shared_pool().to_string()},
                   {"entries", std::move(entries)},
                   {"checksum", 1}};
  auto parsed = numa::parse_cpu_manager_state(json::serialize(doc));
  if (!parsed) {
    return fail("simulated kubelet of " + node_ + ": its own checkpoint does not parse");
  }
  const auto& check = parsed->checksum;
  const auto v2 = std::find(check.tried.begin(), check.tried.end(), "v2");
  if (v2 == check.tried.end()) {
    return fail("simulated kubelet of " + node_ + ": no v2 checksum computed");
  }
  doc["checksum"] = check.computed.at(static_cast<std::size_t>(v2 - check.tried.begin()));

  std::error_code ec;
  fs::create_directories(dir_, ec);
  const fs::path target = dir_ / "cpu_manager_state";
  const fs::path temporary = dir_ / ".cpu_manager_state.tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << json::serialize(doc);
    if (!out.flush()) {
      return fail("cannot write " + temporary.string());
    }
  }
  fs::rename(temporary, target, ec);  // readers see the old file or the new one, never half
  if (ec) {
    return fail("cannot replace " + target.string() + ": " + ec.message());
  }
  written_ = true;
  return {};
}

Result<std::optional<SimulatedKubelet>> machine_for_node(const fs::path& machines, json::object& node) {
  const std::string name(node["metadata"].as_object()["name"].as_string());
  const fs::path host = machines / name / "host";
  if (!fs::is_directory(host)) {
    return std::optional<SimulatedKubelet>();
  }
  auto machine = Machine::read(host);
  if (!machine) {
    return fail(name + ": " + machine.error().message);
  }
  const numa::CpuSet reserved{machine->cpus.ids().front()};
  auto& status = node["status"].as_object();
  auto& capacity = status["capacity"].as_object();
  auto& allocatable = status["allocatable"].as_object();
  capacity["cpu"] = std::to_string(machine->cpus.size());
  allocatable["cpu"] = std::to_string(machine->cpus.size() - reserved.size());
  if (machine->memory_bytes > (2ULL << 30)) {
    capacity["memory"] = std::to_string(machine->memory_bytes);
    allocatable["memory"] = std::to_string(machine->memory_bytes - (1ULL << 30));
  }
  capacity["pods"] = allocatable["pods"] = "250";
  return std::optional<SimulatedKubelet>(
      SimulatedKubelet(name, std::move(*machine), reserved, machines / name / "kubelet"));
}

}  // namespace nodepack::sim
