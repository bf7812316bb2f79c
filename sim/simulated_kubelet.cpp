#include "sim/simulated_kubelet.hpp"

#include "kube/pod.hpp"
#include "numa/checkpoint.hpp"
#include "sim/checkpoint_writer.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

namespace nodepack::sim {
namespace fs = std::filesystem;
namespace json = boost::json;

SimulatedKubelet::SimulatedKubelet(std::string node, Machine machine, numa::CpuSet reserved, fs::path kubelet_dir,
                                   const std::map<int, MemoryRequests>& reserved_memory)
    : node_(std::move(node)),
      machine_(std::move(machine)),
      reserved_(std::move(reserved)),
      dir_(std::move(kubelet_dir)),
      memory_(machine_, reserved_memory) {
  if (!machine_.gpus.empty()) {
    devices_.emplace(machine_.gpus);
  }
}

std::vector<int> SimulatedKubelet::numa_nodes_of(const numa::CpuSet& cpus) const {
  std::vector<int> nodes;
  for (const auto& n : machine_.nodes) {
    if (!n.cpus.intersected(cpus).empty()) {
      nodes.push_back(n.id);
    }
  }
  return nodes;
}

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
  for (const auto& node : machine_.nodes) {
    const numa::CpuSet free = pool.intersected(node.cpus);
    if (free.size() >= count && (!best || free.size() < best->size())) {
      best = free;
    }
  }
  const std::vector<int> ids = (best ? *best : pool).ids();
  return numa::CpuSet(std::vector<int>(ids.begin(), ids.begin() + count));
}

namespace {

std::uint64_t bytes(const kube::Quantity& q) {
  return static_cast<std::uint64_t>(std::max<std::int64_t>(0, q.value_ceil()));
}

// Extended resources are asked for in limits (requests, if given, equal them).
std::uint64_t asked(const kube::Container& c, const std::string& resource) {
  if (auto it = c.requests.find(resource); it != c.requests.end()) {
    return bytes(it->second);
  }
  auto it = c.limits.find(resource);
  return it == c.limits.end() ? 0 : bytes(it->second);
}

}  // namespace

// The kubelet's admission of a pod: per container, exclusive CPUs (Guaranteed, whole CPUs), then
// memory and hugepages (Guaranteed) and GPUs where those CPUs went.
SimulatedKubelet::Changes SimulatedKubelet::admit(const kube::Pod& pod) {
  Changes changes;
  const bool guaranteed = pod.is_guaranteed();
  std::map<std::string, numa::CpuSet> containers;
  for (const auto& c : pod.containers) {
    std::vector<int> numa;
    const auto cpu = c.requests.find("cpu");
    if (guaranteed && cpu != c.requests.end() && cpu->second.milli_value_ceil() % 1000 == 0) {
      if (auto cpus = take(static_cast<unsigned>(cpu->second.milli_value_ceil() / 1000))) {
        containers[c.name] = *cpus;
        assigned_[pod.uid] = containers;  // visible to take() for the next container
        numa = numa_nodes_of(*cpus);
        changes.cpu = true;
      }
    }
    if (guaranteed) {
      MemoryRequests requests;
      for (const auto& [resource, quantity] : c.requests) {
        if (resource == "memory" || resource.starts_with("hugepages-")) {
          requests[resource] = bytes(quantity);
        }
      }
      changes.memory |= !memory_.allocate(pod.uid, c.name, requests, numa).empty();
    }
    if (const auto gpus = asked(c, gpu_resource); gpus > 0 && devices_) {
      changes.devices |= devices_->allocate(pod.uid, c.name, static_cast<unsigned>(gpus), numa);
    }
  }
  return changes;
}

Result<void> SimulatedKubelet::sync(const std::vector<json::object>& pods) {
  Changes changed{!written_, !written_, !written_};
  std::vector<kube::Pod> running;
  std::set<std::string> alive;
  for (const auto& object : pods) {
    auto pod = kube::parse_pod(json::value(object));
    if (!pod || pod->node_name != node_ || pod->phase == "Succeeded" || pod->phase == "Failed" ||
        pod->is_terminating()) {
      continue;
    }
    alive.insert(pod->uid);
    running.push_back(std::move(*pod));
  }
  // What gone pods held is free before new pods are admitted, as the kubelet's managers drop
  // stale state before they allocate.
  for (auto it = admitted_.begin(); it != admitted_.end();) {
    if (alive.contains(*it)) {
      ++it;
      continue;
    }
    changed.cpu |= assigned_.erase(*it) > 0;
    changed.memory |= memory_.release(*it);
    changed.devices |= devices_ && devices_->release(*it);
    it = admitted_.erase(it);
  }
  for (const auto& pod : running) {
    if (admitted_.insert(pod.uid).second) {  // assignments last as long as the pod, as the kubelet's do
      const auto admitted = admit(pod);
      changed.cpu |= admitted.cpu;
      changed.memory |= admitted.memory;
      changed.devices |= admitted.devices;
    }
  }
  const auto context = [&](const Error& e) { return fail("simulated kubelet of " + node_ + ": " + e.message); };
  if (changed.cpu) {
    if (auto r = write_cpu_state(); !r) {
      return context(r.error());
    }
  }
  if (changed.memory) {
    if (auto r = memory_.write(dir_); !r) {
      return context(r.error());
    }
  }
  if (changed.devices && devices_) {
    if (auto r = devices_->write(dir_); !r) {
      return context(r.error());
    }
  }
  written_ = true;
  return {};
}

// The v2 checkpoint with the kubelet's checksum: the content with a placeholder, hashed as the
// kubelet hashes it by the same code the agent verifies files with.
Result<void> SimulatedKubelet::write_cpu_state() {
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
  return write_checkpoint(std::move(doc), "checksum", "v2", dir_ / "cpu_manager_state",
                          [](std::string_view text) { return numa::parse_cpu_manager_state(text); });
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
  std::map<int, MemoryRequests> reserved_memory;
  if (machine->memory_bytes > (2ULL << 30)) {
    std::uint64_t hugepages = 0;
    for (const auto& [resource, total] : machine->hugepages()) {
      capacity[resource] = allocatable[resource] = std::to_string(total);
      hugepages += total;
    }
    capacity["memory"] = std::to_string(machine->memory_bytes);
    allocatable["memory"] = std::to_string(machine->memory_bytes - (1ULL << 30) - hugepages);
    reserved_memory[machine->nodes.front().id]["memory"] = 1ULL << 30;
  }
  auto& labels_value = node["metadata"].as_object()["labels"];
  if (!labels_value.is_object()) {
    labels_value.emplace_object();
  }
  auto& labels = labels_value.get_object();
  if (machine->gpus.empty()) {
    capacity.erase(gpu_resource);
    allocatable.erase(gpu_resource);
    labels.erase("nvidia.com/gpu.present");
  } else {
    capacity[gpu_resource] = allocatable[gpu_resource] = std::to_string(machine->gpus.size());
    labels["nvidia.com/gpu.present"] = "true";
  }
  capacity["pods"] = allocatable["pods"] = "250";
  return std::optional<SimulatedKubelet>(
      SimulatedKubelet(name, std::move(*machine), reserved, machines / name / "kubelet", reserved_memory));
}

}  // namespace nodepack::sim
