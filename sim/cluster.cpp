#include "sim/cluster.hpp"

#include "common/rfc3339.hpp"
#include "sim/pod_bulk.hpp"
#include "sim/scheduler.hpp"
#include "sim/workload_services.hpp"

#include <boost/json/value.hpp>

#include <spdlog/spdlog.h>

#include <array>
#include <set>
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

// What an app's main container asks for, in several spellings of the same quantity (the
// agent's parser sees every form a real cluster sends).
struct App {
  const char* ns;
  const char* name;
  std::array<const char*, 2> cpu;
  std::array<const char*, 2> memory;
  int weight;
  const char* owner;  // ReplicaSet, Job, StatefulSet
};
constexpr std::array<App, 11> apps{{
    {"default", "hello", {"100m", "0.1"}, {"128Mi", "134217728"}, 3, "ReplicaSet"},
    {"web", "frontend", {"250m", "0.25"}, {"256Mi", "268435456"}, 4, "ReplicaSet"},
    {"web", "api", {"500m", "0.5"}, {"512Mi", "512M"}, 3, "ReplicaSet"},
    {"payments", "ledger", {"250m", "250m"}, {"1Gi", "1073741824"}, 2, "StatefulSet"},
    {"payments", "gateway", {"200m", "0.2"}, {"256Mi", "256Mi"}, 2, "ReplicaSet"},
    {"monitoring", "grafana", {"100m", "100m"}, {"256Mi", "268435456"}, 1, "ReplicaSet"},
    {"batch", "report", {"1", "1000m"}, {"2Gi", "2Gi"}, 2, "Job"},
    {"kube-system", "coredns", {"100m", "0.1"}, {"70Mi", "73400320"}, 1, "ReplicaSet"},
    // Memory-heavy, cpu-light: nodes full of these strand their cpu.
    {"cache", "redis", {"100m", "0.1"}, {"3Gi", "3221225472"}, 2, "StatefulSet"},
    // Larger than most nodes have left: pending demand.
    {"batch", "backfill", {"3", "3000m"}, {"4Gi", "4294967296"}, 1, "Job"},
    {"ml", "trainer", {"4", "4000m"}, {"8Gi", "8Gi"}, 1, "Job"},
}};

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

json::object container(std::mt19937_64& r, std::string name, const char* cpu, const char* memory, bool with_limits) {
  json::object resources{{"requests", json::object{{"cpu", cpu}, {"memory", memory}}}};
  if (with_limits) {
    // Limits equal to requests: a pod whose containers all have them is Guaranteed.
    resources["limits"] = json::object{{"cpu", cpu}, {"memory", memory}};
  }
  return json::object{{"name", std::move(name)},
                      {"image", "registry.example/" + std::string("app:1.") + std::to_string(r() % 20)},
                      {"resources", std::move(resources)}};
}

json::object sidecar_container(std::mt19937_64& r, std::string name) {
  constexpr std::array<const char*, 3> cpu{"50m", "0.05", "25m"};
  constexpr std::array<const char*, 3> memory{"64Mi", "67108864", "32Mi"};
  return container(r, std::move(name), cpu[r() % cpu.size()], memory[r() % memory.size()], false);
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
  const std::string_view k(kind);
  return json::object{{"apiVersion", k == "Job" ? "batch/v1" : "apps/v1"},
                      {"kind", kind},
                      {"name", name},
                      {"uid", uid},
                      {"controller", true},
                      {"blockOwnerDeletion", true}};
}

std::string pod_ip(std::mt19937_64& r) {
  return "10.244." + std::to_string(r() % 250) + "." + std::to_string(2 + r() % 250);
}

// Status of a pod the kubelet started: containerStatuses for every container, the given phase.
void set_bound_status(json::object& pod, std::mt19937_64& r, const char* phase) {
  json::array statuses;
  for (const auto& c : pod["spec"].as_object()["containers"].as_array()) {
    statuses.push_back(running_status(r, std::string(c.as_object().at("name").as_string())));
  }
  json::array conditions{json::object{{"type", "PodScheduled"}, {"status", "True"}},
                         json::object{{"type", "Ready"}, {"status", "True"}}};
  json::object status{{"phase", phase},
                      {"qosClass", "Burstable"},
                      {"conditions", std::move(conditions)},
                      {"containerStatuses", std::move(statuses)},
                      {"podIP", pod_ip(r)},
                      {"startTime", "2025-01-01T00:00:00Z"}};
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
  set_bound_status(pod, r, "Running");
  return pod;
}

const App& pick_app(std::mt19937_64& r) {
  int total = 0;
  for (const auto& a : apps) {
    total += a.weight;
  }
  int pick = static_cast<int>(r() % static_cast<std::uint64_t>(total));
  for (const auto& a : apps) {
    if (pick < a.weight) {
      return a;
    }
    pick -= a.weight;
  }
  return apps[0];
}

// A stable stand-in for the hash a Deployment gives its pod template: 9 characters of
// kube-controller-manager's alphabet, the same for a workload in every run.
std::string template_hash(const std::string& workload) {
  static constexpr char chars[] = "bcdfghjklmnpqrstvwxz2456789";
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (const char c : workload) {
    h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  }
  std::string out;
  for (int i = 0; i < 9; ++i, h /= sizeof chars - 1) {
    out.push_back(chars[h % (sizeof chars - 1)]);
  }
  return out;
}

// Gives a started pod the next address, unique among live pods (sim/workload_services.hpp). The
// random one set_bound_status drew stays drawn, so a seed's clusters are as before otherwise.
void number_pod_ip(json::object& pod, std::uint32_t& next) {
  auto* status = pod.if_contains("status");
  if (status != nullptr && status->is_object() && status->get_object().contains("podIP")) {
    status->get_object()["podIP"] = nth_pod_ip(next++);
  }
}

// A pod as its controller creates it: not bound, no status yet.
json::object workload_pod(std::mt19937_64& r, int index) {
  const App& app = pick_app(r);
  const bool job = std::string_view(app.owner) == "Job";
  const std::string base = std::string(app.name);
  const std::string name =
      job ? base + "-" + std::to_string(index) + "-" + suffix(r, 5) : base + "-" + hex(r, 10) + "-" + suffix(r, 5);
  json::array containers;
  containers.push_back(container(r, base, app.cpu[r() % 2], app.memory[r() % 2], r() % 2 == 0));
  const int sidecars = static_cast<int>(r() % 3);
  for (int i = 1; i <= sidecars; ++i) {
    containers.push_back(sidecar_container(r, "side-" + std::to_string(i)));
  }
  json::object spec{{"containers", std::move(containers)}, {"restartPolicy", job ? "Never" : "Always"}};
  const auto shape = r() % 10;
  if (shape == 0 || shape == 1) {
    spec["initContainers"] = json::array{container(r, "init-schema", "200m", "128Mi", false)};
  }
  if (shape == 2) {
    auto sidecar = sidecar_container(r, "log-shipper");
    sidecar["restartPolicy"] = "Always";
    spec["initContainers"] = json::array{container(r, "init-config", "100m", "64Mi", false), std::move(sidecar)};
  }
  if (shape == 3) {
    spec["runtimeClassName"] = "kata";
    spec["overhead"] = json::object{{"cpu", "250m"}, {"memory", "120Mi"}};
  }
  if (std::string_view(app.name) == "trainer") {
    spec["containers"].as_array()[0].as_object()["resources"].as_object()["requests"].as_object()["nvidia.com/gpu"] =
        "1";
    spec["containers"].as_array()[0].as_object()["resources"].as_object()["limits"] =
        json::object{{"nvidia.com/gpu", "1"}};
  }
  json::object labels{{"app", app.name}, {"team", app.ns}};
  std::string owner_name = base;
  if (std::string_view(app.owner) == "ReplicaSet") {
    // A Deployment's ReplicaSet is "<deployment>-<pod-template-hash>", the hash also a pod label.
    const std::string hash = template_hash(base);
    owner_name = base + "-" + hash;
    labels["pod-template-hash"] = hash;
  }
  return json::object{{"metadata", json::object{{"name", name},
                                                {"namespace", app.ns},
                                                {"labels", std::move(labels)},
                                                {"ownerReferences", json::array{owner(app.owner, owner_name, r)}}}},
                      {"spec", std::move(spec)},
                      {"status", json::object{{"phase", "Pending"}, {"qosClass", "Burstable"}}}};
}

// What large machines run besides the usual apps: a Guaranteed pod of whole CPUs (the CPU manager
// pins them, on one NUMA node when it can), too big for the generic nodes. Only when filling.
json::object large_pod(std::mt19937_64& r, int index) {
  constexpr std::array<const char*, 3> cpu{"8", "16", "32"};
  constexpr std::array<const char*, 2> memory{"32Gi", "64Gi"};
  const std::string name = "pretrain-" + std::to_string(index) + "-" + suffix(r, 5);
  json::object spec{
      {"containers", json::array{container(r, "pretrain", cpu[r() % cpu.size()], memory[r() % memory.size()], true)}},
      {"restartPolicy", "Never"}};
  return json::object{{"metadata", json::object{{"name", name},
                                                {"namespace", "ml"},
                                                {"labels", json::object{{"app", "pretrain"}, {"team", "ml"}}},
                                                {"ownerReferences", json::array{owner("Job", "pretrain", r)}}}},
                      {"spec", std::move(spec)},
                      {"status", json::object{{"phase", "Pending"}, {"qosClass", "Guaranteed"}}}};
}

// The scheduler placed it: bound, and the kubelet runs it. Some pods are caught earlier or later
// in their life: still starting (bound, Pending, ContainerCreating), or done (a Job's pod often,
// now and then another).
void bind_to_node(json::object& pod, const std::string& node, std::mt19937_64& r) {
  pod["spec"].as_object()["nodeName"] = node;
  const bool job = pod["spec"].as_object()["restartPolicy"].as_string() == "Never";
  const auto roll = r() % 20;
  if (job ? roll < 10 : roll == 0) {
    set_bound_status(pod, r, "Succeeded");
    for (auto& s : pod["status"].as_object()["containerStatuses"].as_array()) {
      s.as_object()["ready"] = false;
      s.as_object()["state"] = json::object{{"terminated", json::object{{"exitCode", 0}, {"reason", "Completed"}}}};
    }
  } else if (roll == 1) {
    set_bound_status(pod, r, "Pending");
    auto& status = pod["status"].as_object();
    status.erase("podIP");
    for (auto& s : status["containerStatuses"].as_array()) {
      s.as_object()["ready"] = false;
      s.as_object()["started"] = false;
      s.as_object().erase("containerID");
      s.as_object()["state"] = json::object{{"waiting", json::object{{"reason", "ContainerCreating"}}}};
    }
  } else {
    set_bound_status(pod, r, "Running");
  }
}

// The scheduler found no node: Pending with the condition `kubectl describe pod` shows.
void mark_unschedulable(json::object& pod, const std::string& message) {
  pod["status"] = json::object{
      {"phase", "Pending"},
      {"qosClass", "Burstable"},
      {"conditions",
       json::array{json::object{
           {"type", "PodScheduled"}, {"status", "False"}, {"reason", "Unschedulable"}, {"message", message}}}}};
}

// Binds a pod the scheduler booked on `node`. One that is already done held its requests while
// it ran, not any more: released as it was booked (a Succeeded pod's requests count for nothing,
// so releasing the bound copy would release nothing and keep its room taken for good).
void bind_booked(json::object& pod, const std::string& node, Scheduler& scheduler, std::mt19937_64& r) {
  json::object booked = pod;
  booked["spec"].as_object()["nodeName"] = node;
  bind_to_node(pod, node, r);
  if (pod["status"].as_object()["phase"].as_string() == "Succeeded") {
    scheduler.release(booked);
  }
}

// Through the scheduler: bound where it fits, else Pending with the reason.
json::object schedule(json::object pod, Scheduler& scheduler, std::mt19937_64& r) {
  auto placement = scheduler.place(pod, r);
  if (placement.node) {
    bind_booked(pod, *placement.node, scheduler, r);
  } else {
    mark_unschedulable(pod, placement.message);
  }
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
  std::vector<ObjectPtr> nodes;
  std::vector<ObjectPtr> daemonsets;
  for (int i = 0; i < options.nodes; ++i) {
    cluster.nodes.push_back(make_node(r, i));
    if (options.shape_node) {
      options.shape_node(cluster.nodes.back());
    }
    nodes.push_back(std::make_shared<const json::object>(cluster.nodes.back()));
    if (options.pods_per_node > 0) {
      cluster.pods.push_back(daemonset_pod(r, node_name(i)));
      daemonsets.push_back(std::make_shared<const json::object>(cluster.pods.back()));
    }
  }
  // Every other pod goes through the scheduler, as in a real cluster: the workloads a cluster of
  // this size runs land where they fit, and what fits nowhere waits.
  Scheduler scheduler(nodes, daemonsets);
  const int workloads = options.nodes * std::max(0, options.pods_per_node - 1);
  for (int index = 0; index < workloads; ++index) {
    cluster.pods.push_back(schedule(workload_pod(r, index), scheduler, r));
  }
  // Filling: stop after a run of pods that fit nowhere, so a full cluster ends with a few pending.
  for (int index = workloads, misses = 0; scheduler.cluster_cpu_share() < options.fill_cpu && misses < 5; ++index) {
    cluster.pods.push_back(schedule(index % 4 == 0 ? large_pod(r, index) : workload_pod(r, index), scheduler, r));
    const auto& spec = cluster.pods.back().at("spec").as_object();
    misses = spec.contains("nodeName") && !spec.at("nodeName").as_string().empty() ? 0 : misses + 1;
  }
  std::uint32_t next_ip = 0;
  std::mt19937_64 bulk_random(seed);
  for (auto& pod : cluster.pods) {
    number_pod_ip(pod, next_ip);
    add_pod_bulk(pod, options.pod_bytes, bulk_random);
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
    auto stored = server.upsert(Kind::pod, pod);
    if (!stored) {
      return stored.error();
    }
    record_scheduling_failure(server, *stored);
  }
  return sync_workload_services(server);
}

void record_scheduling_failure(FakeApiServer& server, const json::object& pod) {
  const auto* status = pod.if_contains("status");
  const auto* conditions =
      status != nullptr && status->is_object() ? status->get_object().if_contains("conditions") : nullptr;
  if (conditions == nullptr || !conditions->is_array()) {
    return;
  }
  for (const auto& c : conditions->get_array()) {
    const auto& condition = c.as_object();
    if (condition.at("type").as_string() != "PodScheduled" || condition.at("status").as_string() != "False") {
      continue;
    }
    const auto& metadata = pod.at("metadata").as_object();
    const std::string name(metadata.at("name").as_string());
    const std::string ns(metadata.at("namespace").as_string());
    const auto now = format_rfc3339(std::chrono::system_clock::now());
    // What kube-scheduler records, so `kubectl describe pod` shows why the pod waits.
    json::object event{
        {"metadata", json::object{{"name", name + ".scheduling"}, {"namespace", ns}}},
        {"involvedObject",
         json::object{
             {"kind", "Pod"}, {"namespace", ns}, {"name", name}, {"uid", metadata.at("uid")}, {"apiVersion", "v1"}}},
        {"reason", "FailedScheduling"},
        {"message", condition.at("message")},
        {"type", "Warning"},
        {"source", json::object{{"component", "default-scheduler"}}},
        {"reportingComponent", "default-scheduler"},
        {"count", 1},
        {"firstTimestamp", now},
        {"lastTimestamp", now}};
    server.upsert(Kind::event, std::move(event));
  }
}

Churner::Churner(ClusterOptions options, std::uint64_t seed)
    : options_(std::move(options)), random_(seed), bulk_random_(seed) {}
Churner::~Churner() = default;

ChurnStats Churner::step(FakeApiServer& server) {
  ChurnStats stats;
  auto pods = server.objects(Kind::pod);
  // The cluster may have changed behind the churner's back (kubectl delete pod): re-read what the
  // nodes hold every so often rather than trust the books forever.
  if (!scheduler_ || ++steps_since_recount_ >= 60) {
    scheduler_ = std::make_unique<Scheduler>(server.objects(Kind::node), pods);
    steps_since_recount_ = 0;
  }
  std::vector<ObjectPtr> workloads;
  std::vector<ObjectPtr> pending;
  for (const auto& pod : pods) {
    const auto* refs = pod->at("metadata").as_object().if_contains("ownerReferences");
    const bool daemonset = refs != nullptr && refs->is_array() && !refs->as_array().empty() &&
                           refs->as_array()[0].as_object().at("kind").as_string() == "DaemonSet";
    const auto& spec = pod->at("spec").as_object();
    const bool bound = spec.if_contains("nodeName") != nullptr && !spec.at("nodeName").as_string().empty();
    if (!bound) {
      pending.push_back(pod);
    } else if (!daemonset) {
      workloads.push_back(pod);
    }
  }
  // What was waiting may fit now that others finished: one try per step, as the scheduler's
  // backoff queue would, at most a few pods.
  std::set<std::string> services;  // whose endpoints may have changed
  for (std::size_t i = 0; i < pending.size() && i < 3; ++i) {
    json::object pod = *pending[i];
    auto placement = scheduler_->place(pod, random_);
    if (placement.node) {
      bind_booked(pod, *placement.node, *scheduler_, random_);
      number_pod_ip(pod, next_ip_);
      services.insert(service_key(pod));
      if (server.upsert(Kind::pod, std::move(pod))) {
        ++stats.modified;
      }
    }
  }
  const int changes = std::max(1, static_cast<int>(workloads.size() / 20));
  for (int i = 0; i < changes; ++i) {
    const auto action = random_() % 4;
    if (workloads.empty() || action == 3) {
      auto pod = schedule(workload_pod(random_, 100000 + next_pod_++), *scheduler_, random_);
      number_pod_ip(pod, next_ip_);
      add_pod_bulk(pod, options_.pod_bytes, bulk_random_);
      services.insert(service_key(pod));
      if (auto stored = server.upsert(Kind::pod, std::move(pod))) {
        record_scheduling_failure(server, *stored);
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
    services.insert(service_key(*victim));
    if (action == 0) {
      // In-place resize of the first container, when the node has room for it (the kubelet would
      // mark it Infeasible otherwise; the churner just does not ask).
      json::object pod = *victim;
      auto& first = pod["spec"].as_object()["containers"].as_array()[0].as_object();
      constexpr std::array<const char*, 6> cpu{"50m", "100m", "0.2", "250m", "500m", "1"};
      first["resources"].as_object()["requests"].as_object()["cpu"] = pick(random_, cpu);
      if (scheduler_->resize(*victim, pod) && server.upsert(Kind::pod, std::move(pod))) {
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
      scheduler_->release(*victim);
      if (server.upsert(Kind::pod, std::move(pod))) {
        ++stats.modified;
      }
    } else if (server.remove(Kind::pod, ns, name)) {
      scheduler_->release(*victim);
      ++stats.deleted;
    }
  }
  services.erase("");
  if (auto synced = sync_workload_services(server, &services); !synced) {
    spdlog::warn("churn: endpoint slices not kept: {}", synced.error().message);
  }
  return stats;
}

}  // namespace nodepack::sim
