#include "sim/device_manager.hpp"

#include "sim/checkpoint_writer.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <set>

namespace nodepack::sim {
namespace json = boost::json;

namespace {

std::string base64(std::string_view bytes) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    std::uint32_t chunk = static_cast<unsigned char>(bytes[i]) << 16;
    const std::size_t n = std::min<std::size_t>(3, bytes.size() - i);
    if (n > 1) {
      chunk |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    }
    if (n > 2) {
      chunk |= static_cast<unsigned char>(bytes[i + 2]);
    }
    for (std::size_t k = 0; k < 4; ++k) {
      out.push_back(k <= n ? alphabet[(chunk >> (18 - 6 * k)) & 63] : '=');
    }
  }
  return out;
}

// A protobuf length-delimited field (short enough for a one-byte length).
std::string field(char tag, const std::string& value) {
  return std::string{tag, static_cast<char>(value.size())} + value;
}

// The device plugin's ContainerAllocateResponse as the kubelet keeps it: NVIDIA's plugin sets
// envs["NVIDIA_VISIBLE_DEVICES"] to the ids it was given.
std::string allocate_response(const std::vector<std::string>& ids) {
  std::string joined;
  for (const auto& id : ids) {
    joined += (joined.empty() ? "" : ",") + id;
  }
  return base64(field('\x0a', field('\x0a', "NVIDIA_VISIBLE_DEVICES") + field('\x12', joined)));
}

}  // namespace

SimulatedDeviceManager::SimulatedDeviceManager(std::vector<MachineGpu> gpus) : gpus_(std::move(gpus)) {}

std::vector<std::string> SimulatedDeviceManager::free_ids() const {
  std::set<std::string> used;
  for (const auto& e : entries_) {
    for (const auto& [numa, ids] : e.device_ids) {
      used.insert(ids.begin(), ids.end());
    }
  }
  std::vector<std::string> free;
  for (const auto& g : gpus_) {
    if (!used.contains(g.id)) {
      free.push_back(g.id);
    }
  }
  return free;
}

bool SimulatedDeviceManager::allocate(const std::string& pod, const std::string& container, unsigned count,
                                      const std::vector<int>& preferred_numa) {
  const auto free = free_ids();
  if (count == 0 || free.size() < count) {
    return false;
  }
  const auto numa_of = [&](const std::string& id) {
    return std::find_if(gpus_.begin(), gpus_.end(), [&](const MachineGpu& g) { return g.id == id; })->numa_node;
  };
  const auto on = [&](const std::vector<int>& nodes) {
    std::vector<std::string> ids;
    for (const auto& id : free) {
      if (std::find(nodes.begin(), nodes.end(), numa_of(id)) != nodes.end()) {
        ids.push_back(id);
      }
    }
    return ids;
  };
  std::vector<std::vector<int>> candidates{preferred_numa};
  for (const auto& g : gpus_) {
    candidates.push_back({g.numa_node});
  }
  std::sort(candidates.begin() + 1, candidates.end());
  std::vector<std::string> chosen = free;  // the lowest free ids when no node has enough
  for (const auto& nodes : candidates) {
    if (auto ids = on(nodes); ids.size() >= count) {
      chosen = std::move(ids);
      break;
    }
  }
  chosen.resize(count);
  numa::PodDevicesEntry entry{pod, container, gpu_resource, {}};
  for (const auto& id : chosen) {
    entry.device_ids[numa_of(id)].push_back(id);
  }
  entries_.push_back(std::move(entry));
  return true;
}

bool SimulatedDeviceManager::release(const std::string& pod) {
  return std::erase_if(entries_, [&](const numa::PodDevicesEntry& e) { return e.pod_uid == pod; }) > 0;
}

// The kubelet's JSON: no entries is null (a nil slice), device ids by NUMA node.
Result<void> SimulatedDeviceManager::write(const std::filesystem::path& kubelet_dir) const {
  json::value entries;  // null
  if (!entries_.empty()) {
    json::array list;
    for (const auto& e : entries_) {
      json::object ids;
      std::vector<std::string> all;
      for (const auto& [numa, list_ids] : e.device_ids) {
        ids[std::to_string(numa)] = json::array(list_ids.begin(), list_ids.end());
        all.insert(all.end(), list_ids.begin(), list_ids.end());
      }
      list.push_back(json::object{{"PodUID", e.pod_uid},
                                  {"ContainerName", e.container_name},
                                  {"ResourceName", e.resource_name},
                                  {"DeviceIDs", std::move(ids)},
                                  {"AllocResp", allocate_response(all)}});
    }
    entries = std::move(list);
  }
  json::array registered;
  for (const auto& g : gpus_) {
    registered.push_back(json::value(g.id));
  }
  json::object doc{
      {"Data",
       {{"PodDeviceEntries", std::move(entries)}, {"RegisteredDevices", {{gpu_resource, std::move(registered)}}}}},
      {"Checksum", 1}};
  return write_checkpoint(std::move(doc), "Checksum", "v2", kubelet_dir / "device-plugins/kubelet_internal_checkpoint",
                          [](std::string_view text) { return numa::parse_device_checkpoint(text); });
}

}  // namespace nodepack::sim
