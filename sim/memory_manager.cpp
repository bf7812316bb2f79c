#include "sim/memory_manager.hpp"

#include "sim/checkpoint_writer.hpp"

#include <boost/json.hpp>

#include <algorithm>

namespace nodepack::sim {
namespace json = boost::json;

namespace {

numa::MemoryTable table(std::uint64_t total, std::uint64_t system_reserved, std::uint64_t hugepages = 0) {
  // Regular memory leaves out what the hugepages pools hold, as the kubelet's allocatable does.
  std::uint64_t allocatable = total > system_reserved ? total - system_reserved : 0;
  allocatable = allocatable > hugepages ? allocatable - hugepages : allocatable;
  return {total, system_reserved, allocatable, 0, allocatable};
}

json::array ints(const std::vector<int>& v) { return json::array(v.begin(), v.end()); }

}  // namespace

SimulatedMemoryManager::SimulatedMemoryManager(const Machine& machine,
                                               const std::map<int, MemoryRequests>& system_reserved) {
  for (const auto& node : machine.nodes) {
    const auto reserved = system_reserved.find(node.id);
    const auto reserved_of = [&](const std::string& resource) -> std::uint64_t {
      if (reserved == system_reserved.end()) {
        return 0;
      }
      const auto it = reserved->second.find(resource);
      return it == reserved->second.end() ? 0 : it->second;
    };
    auto& s = state_[node.id];
    s.cells = {node.id};
    std::uint64_t hugepages = 0;
    for (const auto& [resource, bytes] : node.hugepages) {
      s.memory_map[resource] = table(bytes, reserved_of(resource));
      hugepages += bytes;
    }
    s.memory_map["memory"] = table(node.memory, reserved_of("memory"), hugepages);
  }
}

bool SimulatedMemoryManager::fits(const std::vector<int>& group, const MemoryRequests& requests) const {
  for (const auto& [resource, size] : requests) {
    std::uint64_t free = 0;
    for (int id : group) {
      const auto& map = state_.at(id).memory_map;
      const auto it = map.find(resource);
      free += it == map.end() ? 0 : it->second.free;
    }
    if (free < size) {
      return false;
    }
  }
  return true;
}

// A node serves one group at a time: alone, or with the same others for every container on it.
bool SimulatedMemoryManager::groupable(const std::vector<int>& group) const {
  return std::all_of(group.begin(), group.end(), [&](int id) {
    const auto& s = state_.at(id);
    return s.cells == group || (s.cells == std::vector<int>{id} && (group.size() == 1 || s.number_of_assignments == 0));
  });
}

// Takes the bytes from the group's nodes in order, as far as each has them free.
void SimulatedMemoryManager::reserve(const std::vector<int>& group, const std::string& resource, std::uint64_t size) {
  for (int id : group) {
    auto& s = state_.at(id);
    auto& t = s.memory_map[resource];
    const std::uint64_t take = std::min(t.free, size);
    t.reserved += take;
    t.free -= take;
    size -= take;
    ++s.number_of_assignments;
    s.cells = group;
  }
}

std::vector<int> SimulatedMemoryManager::allocate(const std::string& pod, const std::string& container,
                                                  const MemoryRequests& requests, const std::vector<int>& preferred) {
  std::vector<std::vector<int>> candidates;
  if (!preferred.empty()) {
    candidates.push_back(preferred);
  }
  std::vector<int> all;
  for (const auto& [id, s] : state_) {
    candidates.push_back({id});
    all.push_back(id);
  }
  // Groups last, the narrowest first: the preferred nodes, then the unused others in order, as
  // many as it takes (the kubelet's hints prefer the narrowest group, then the lowest nodes).
  std::vector<int> group = preferred;
  for (int id : all) {
    if (std::find(group.begin(), group.end(), id) == group.end() && state_.at(id).number_of_assignments == 0) {
      group.push_back(id);
      candidates.push_back(group);
    }
  }
  for (auto& c : candidates) {
    std::sort(c.begin(), c.end());
    if (!groupable(c) || !fits(c, requests)) {
      continue;
    }
    auto& blocks = entries_[pod][container];
    for (const auto& [resource, size] : requests) {
      if (size > 0) {
        reserve(c, resource, size);
        blocks.push_back({c, resource, size});
      }
    }
    return c;
  }
  return {};
}

bool SimulatedMemoryManager::release(const std::string& pod) {
  const auto it = entries_.find(pod);
  if (it == entries_.end()) {
    return false;
  }
  for (const auto& [container, blocks] : it->second) {
    for (const auto& block : blocks) {
      std::uint64_t size = block.size;
      for (int id : block.numa_affinity) {
        auto& s = state_.at(id);
        auto& t = s.memory_map[block.type];
        const std::uint64_t give = std::min(t.reserved, size);
        t.reserved -= give;
        t.free += give;
        size -= give;
        if (--s.number_of_assignments == 0) {
          s.cells = {id};
        }
      }
    }
  }
  entries_.erase(it);
  return true;
}

// The kubelet's JSON: fields in the order of its Go structs, empty entries left out (omitempty).
Result<void> SimulatedMemoryManager::write(const std::filesystem::path& kubelet_dir) const {
  json::object machine;
  for (const auto& [id, s] : state_) {
    json::object map;
    for (const auto& [resource, t] : s.memory_map) {
      map[resource] = {{"total", t.total},
                       {"systemReserved", t.system_reserved},
                       {"allocatable", t.allocatable},
                       {"reserved", t.reserved},
                       {"free", t.free}};
    }
    machine[std::to_string(id)] = {
        {"numberOfAssignments", s.number_of_assignments}, {"memoryMap", std::move(map)}, {"cells", ints(s.cells)}};
  }
  json::object doc{{"policyName", "Static"}, {"machineState", std::move(machine)}};
  if (!entries_.empty()) {
    json::object entries;
    for (const auto& [pod, containers] : entries_) {
      json::object c;
      for (const auto& [name, blocks] : containers) {
        json::array b;
        for (const auto& block : blocks) {
          b.push_back(
              json::object{{"numaAffinity", ints(block.numa_affinity)}, {"type", block.type}, {"size", block.size}});
        }
        c[name] = std::move(b);
      }
      entries[pod] = std::move(c);
    }
    doc["entries"] = std::move(entries);
  }
  doc["checksum"] = 1;
  return write_checkpoint(std::move(doc), "checksum", "v1", kubelet_dir / "memory_manager_state",
                          [](std::string_view text) { return numa::parse_memory_manager_state(text); });
}

}  // namespace nodepack::sim
