#include "sim/cluster.hpp"

#include <boost/json/value.hpp>

#include <array>
#include <string>

namespace nodepack::sim {

namespace json = boost::json;

namespace {

struct InstanceType {
  const char* name;
  const char* cpu_capacity;
  const char* cpu_allocatable;
  const char* memory_capacity;
  const char* memory_allocatable_binary;  // "15Gi" style
  const char* memory_allocatable_bytes;   // the same amount in plain bytes
  int gpus;
};

constexpr std::array<InstanceType, 3> instance_types{{
    {"m5.xlarge", "4", "3920m", "16073748Ki", "15Gi", "16106127360", 0},
    {"m5.2xlarge", "8", "7910m", "32408452Ki", "30Gi", "32212254720", 0},
    {"g4dn.xlarge", "4", "3920m", "16073748Ki", "15Gi", "16106127360", 1},
}};

constexpr std::array<const char*, 3> zones{"zone-a", "zone-b", "zone-c"};
constexpr std::array<const char*, 8> cpu_forms{"100m", "250m", "0.5", "1", "500m", "1500m", "2", "50m"};
constexpr std::array<const char*, 8> memory_forms{"128Mi", "256Mi", "1Gi", "512M", "129e6", "64Mi", "268435456", "2Gi"};

struct App {
  const char* ns;
  const char* name;
};
constexpr std::array<App, 8> apps{{{"default", "hello"},
                                   {"web", "frontend"},
                                   {"web", "api"},
                                   {"payments", "ledger"},
                                   {"payments", "gateway"},
                                   {"monitoring", "grafana"},
                                   {"batch", "report"},
                                   {"kube-system", "coredns"}}};

std::string hex(std::mt19937_64& r, int n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < n; ++i) {
    s.push_back(digits[r() % 16]);
  }
  return s;
}

std::string suffix(std::mt19937_64& r, int n) {
  static constexpr char chars[] = "bcdfghjklmnpqrstvwxz2456789";
  std::string s;
  for (int i = 0; i < n; ++i) {
    s.push_back(chars[r() % (sizeof chars - 1)]);
  }
  return s;
}

template <class Array>
const char* pick(std::mt19937_64& r, const Array& a) {
  return a[r() % a.size()];
}

json::object requests(std::mt19937_64& r) {
  return json::object{{"cpu", pick(r, cpu_forms)}, {"memory", pick(r, memory_forms)}};
}

json::object container(std::mt19937_64& r, std::string name, bool with_limits) {
  json::object resources{{"requests", requests(r)}};
  if (with_limits) {
    resources["limits"] = json::object{{"cpu", "2"}, {"memory", "2Gi"}};
  }
  return json::object{{"name", std::move(name)},
                      {"image", "registry.example/" + std::string("app:1.") + std::to_string(r() % 20)},
                      {"resources", std::move(resources)}};
}

json::object running_status(std::mt19937_64& r, const std::string& name) {
  return json::object{{"name", name},
                      {"containerID", "containerd://" + hex(r, 64)},
                      {"ready", true},
                      {"restartCount", static_cast<int>(r() % 3)},
                      {"image", "registry.example/app"},
                      {"started", true},
                      {"state", json::object{{"running", json::object{{"startedAt", "2025-01-01T00:00:00Z"}}}}}};
}

json::object owner(const char* kind, const std::string& name, std::mt19937_64& r) {
  const std::string uid = hex(r, 8) + "-" + hex(r, 4) + "-4" + hex(r, 3) + "-8" + hex(r, 3) + "-" + hex(r, 12);
  return json::object{{"apiVersion", std::string(kind) == "Job" ? "batch/v1" : "apps/v1"},
                      {"kind", kind},
                      {"name", name},
                      {"uid", uid},
                      {"controller", true},
                      {"blockOwnerDeletion", true}};
}

// Fills status from spec: containerStatuses for every container, the given phase.
void set_status(json::object& pod, std::mt19937_64& r, const char* phase) {
  json::array statuses;
  for (const auto& c : pod["spec"].as_object()["containers"].as_array()) {
    statuses.push_back(running_status(r, std::string(c.as_object().at("name").as_string())));
  }
  json::object status{{"phase", phase}, {"qosClass", "Burstable"}};
  if (std::string_view(phase) != "Pending") {
    status["containerStatuses"] = std::move(statuses);
    status["podIP"] = "10.0." + std::to_string(r() % 250) + "." + std::to_string(r() % 250);
    status["startTime"] = "2025-01-01T00:00:00Z";
  }
  pod["status"] = std::move(status);
}

json::object daemonset_pod(std::mt19937_64& r, const std::string& node) {
  const std::string name = "node-agent-" + suffix(r, 5);
  json::object pod{
      {"metadata", json::object{{"name", name},
                                {"namespace", "kube-system"},
                                {"labels", json::object{{"app", "node-agent"}, {"tier", "system"}}},
                                {"ownerReferences", json::array{owner("DaemonSet", "node-agent", r)}}}},
      {"spec",
       json::object{
           {"nodeName", node},
           {"containers",
            json::array{json::object{
                {"name", "agent"},
                {"image", "registry.example/node-agent:1.0"},
                {"resources", json::object{{"requests", json::object{{"cpu", "100m"}, {"memory", "128Mi"}}}}}}}}}}};
  set_status(pod, r, "Running");
  return pod;
}

json::object workload_pod(std::mt19937_64& r, const std::string& node, int index) {
  const App& app = apps[r() % apps.size()];
  const bool job = std::string_view(app.name) == "report";
  const std::string base = std::string(app.name);
  const std::string name =
      job ? base + "-" + std::to_string(index) + "-" + suffix(r, 5) : base + "-" + hex(r, 10) + "-" + suffix(r, 5);
  json::array containers;
  const int n = 1 + static_cast<int>(r() % 3);
  for (int i = 0; i < n; ++i) {
    containers.push_back(container(r, i == 0 ? base : "side-" + std::to_string(i), r() % 2 == 0));
  }
  json::object spec{{"containers", std::move(containers)}, {"restartPolicy", job ? "Never" : "Always"}};
  const auto shape = r() % 10;
  if (shape == 0 || shape == 1) {
    spec["initContainers"] = json::array{container(r, "init-schema", false)};
  }
  if (shape == 2) {
    auto sidecar = container(r, "log-shipper", false);
    sidecar["restartPolicy"] = "Always";
    spec["initContainers"] = json::array{container(r, "init-config", false), std::move(sidecar)};
  }
  if (shape == 3) {
    spec["runtimeClassName"] = "kata";
    spec["overhead"] = json::object{{"cpu", "250m"}, {"memory", "120Mi"}};
  }
  const char* phase = "Running";
  const auto p = r() % 20;
  if (job || p == 0) {
    phase = "Succeeded";
  } else if (p == 1) {
    phase = "Pending";
  }
  if (!node.empty()) {
    spec["nodeName"] = node;
  } else {
    phase = "Pending";  // not scheduled yet
  }
  json::object pod{
      {"metadata",
       json::object{{"name", name},
                    {"namespace", app.ns},
                    {"labels", json::object{{"app", app.name}, {"team", app.ns}}},
                    {"ownerReferences", json::array{owner(job ? "Job" : "ReplicaSet", job ? base : base + "-rs", r)}}}},
      {"spec", std::move(spec)}};
  set_status(pod, r, phase);
  return pod;
}

std::string node_name(int i) { return "sim-node-" + std::to_string(i); }

json::object make_node(std::mt19937_64& r, int i) {
  const auto& type = instance_types[(i % 4 == 3) ? 2 : static_cast<std::size_t>(i % 2)];
  const std::string name = node_name(i);
  const bool binary_memory = i % 2 == 0;
  json::object capacity{{"cpu", type.cpu_capacity},           {"memory", type.memory_capacity}, {"pods", "110"},
                        {"ephemeral-storage", "104845292Ki"}, {"hugepages-2Mi", "0"},           {"hugepages-1Gi", "0"}};
  json::object allocatable{{"cpu", type.cpu_allocatable},
                           {"memory", binary_memory ? type.memory_allocatable_binary : type.memory_allocatable_bytes},
                           {"pods", "110"},
                           {"ephemeral-storage", "96625926052"},
                           {"hugepages-2Mi", "0"},
                           {"hugepages-1Gi", "0"}};
  if (type.gpus > 0) {
    capacity["nvidia.com/gpu"] = std::to_string(type.gpus);
    allocatable["nvidia.com/gpu"] = std::to_string(type.gpus);
  }
  json::object labels{{"kubernetes.io/hostname", name},
                      {"kubernetes.io/os", "linux"},
                      {"kubernetes.io/arch", "amd64"},
                      {"topology.kubernetes.io/zone", zones[static_cast<std::size_t>(i) % zones.size()]},
                      {"node.kubernetes.io/instance-type", type.name}};
  if (type.gpus > 0) {
    labels["nvidia.com/gpu.present"] = "true";
  }
  const std::string ip = "10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
  return json::object{
      {"metadata", json::object{{"name", name}, {"labels", std::move(labels)}}},
      {"spec",
       json::object{{"providerID", "sim:///" + name}, {"podCIDR", "10.244." + std::to_string(i % 250) + ".0/24"}}},
      {"status", json::object{{"capacity", std::move(capacity)},
                              {"allocatable", std::move(allocatable)},
                              {"conditions", json::array{json::object{{"type", "Ready"},
                                                                      {"status", "True"},
                                                                      {"reason", "KubeletReady"},
                                                                      {"message", "kubelet is posting ready status"}}}},
                              {"addresses", json::array{json::object{{"type", "InternalIP"}, {"address", ip}},
                                                        json::object{{"type", "Hostname"}, {"address", name}}}},
                              {"nodeInfo", json::object{{"kubeletVersion", "v1.32.0"},
                                                        {"containerRuntimeVersion", "containerd://1.7.24"},
                                                        {"osImage", "Debian GNU/Linux 12 (bookworm)"},
                                                        {"machineID", hex(r, 32)},
                                                        {"architecture", "amd64"},
                                                        {"operatingSystem", "linux"}}}}}};
}

}  // namespace

Cluster generate_cluster(const ClusterOptions& options, std::uint64_t seed) {
  std::mt19937_64 r(seed);
  Cluster cluster;
  int index = 0;
  for (int i = 0; i < options.nodes; ++i) {
    cluster.nodes.push_back(make_node(r, i));
    const std::string node = node_name(i);
    if (options.pods_per_node > 0) {
      cluster.pods.push_back(daemonset_pod(r, node));
    }
    for (int p = 1; p < options.pods_per_node; ++p) {
      cluster.pods.push_back(workload_pod(r, node, index++));
    }
  }
  // A couple of pods waiting for a node: demand the scheduler has not placed.
  for (int i = 0; i < std::min(2, options.nodes); ++i) {
    cluster.pods.push_back(workload_pod(r, "", index++));
  }
  return cluster;
}

Result<void> load_cluster(FakeApiServer& server, const Cluster& cluster) {
  for (const auto& node : cluster.nodes) {
    if (auto r = server.upsert(Kind::node, node); !r) {
      return r.error();
    }
  }
  for (const auto& pod : cluster.pods) {
    if (auto r = server.upsert(Kind::pod, pod); !r) {
      return r.error();
    }
  }
  return {};
}

Churner::Churner(ClusterOptions options, std::uint64_t seed) : options_(options), random_(seed) {}

ChurnStats Churner::step(FakeApiServer& server) {
  ChurnStats stats;
  auto pods = server.objects(Kind::pod);
  std::vector<ObjectPtr> workloads;
  for (const auto& pod : pods) {
    const auto* refs = pod->at("metadata").as_object().if_contains("ownerReferences");
    const bool daemonset = refs != nullptr && refs->is_array() && !refs->as_array().empty() &&
                           refs->as_array()[0].as_object().at("kind").as_string() == "DaemonSet";
    if (!daemonset) {
      workloads.push_back(pod);
    }
  }
  const int changes = std::max(1, static_cast<int>(workloads.size() / 20));
  for (int i = 0; i < changes; ++i) {
    const auto action = random_() % 4;
    if (workloads.empty() || action == 3) {
      const std::string node = options_.nodes > 0 ? node_name(static_cast<int>(random_() % options_.nodes)) : "";
      if (server.upsert(Kind::pod, workload_pod(random_, node, 100000 + next_pod_++))) {
        ++stats.added;
      }
      continue;
    }
    const auto chosen = random_() % workloads.size();
    const ObjectPtr victim = workloads[chosen];
    workloads[chosen] = workloads.back();
    workloads.pop_back();  // one change per pod per step
    const auto& metadata = victim->at("metadata").as_object();
    const std::string ns(metadata.at("namespace").as_string());
    const std::string name(metadata.at("name").as_string());
    if (action == 0) {
      // In-place resize of the first container: spec changes, allocation follows.
      json::object pod = *victim;
      auto& first = pod["spec"].as_object()["containers"].as_array()[0].as_object();
      first["resources"].as_object()["requests"].as_object()["cpu"] = pick(random_, cpu_forms);
      if (server.upsert(Kind::pod, std::move(pod))) {
        ++stats.modified;
      }
    } else if (action == 1) {
      json::object pod = *victim;
      auto& status = pod["status"].as_object();
      status["phase"] = "Succeeded";
      if (auto* statuses = status.if_contains("containerStatuses"); statuses != nullptr && statuses->is_array()) {
        for (auto& s : statuses->as_array()) {
          s.as_object()["ready"] = false;
          s.as_object()["state"] = json::object{{"terminated", json::object{{"exitCode", 0}, {"reason", "Completed"}}}};
        }
      }
      if (server.upsert(Kind::pod, std::move(pod))) {
        ++stats.modified;
      }
    } else if (server.remove(Kind::pod, ns, name)) {
      ++stats.deleted;
    }
  }
  return stats;
}

}  // namespace nodepack::sim
