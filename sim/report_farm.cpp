#include "sim/report_farm.hpp"

#include "common/rfc3339.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <array>
#include <cstdio>
#include <random>

namespace nodepack::sim {
namespace {

namespace json = boost::json;
namespace bhttp = boost::beast::http;

struct Type {
  const char* name;
  const char* cpu;
  std::int64_t cpu_milli;
  const char* memory;
  std::int64_t memory_bytes;
};
constexpr std::array<Type, 4> types{{{"m5.xlarge", "3920m", 3920, "15Gi", 15LL << 30},
                                     {"m5.2xlarge", "7910m", 7910, "30Gi", 30LL << 30},
                                     {"m5.4xlarge", "15890m", 15890, "60Gi", 60LL << 30},
                                     {"c5.9xlarge", "35850m", 35850, "68Gi", 68LL << 30}}};
constexpr std::array<const char*, 3> zones{"zone-a", "zone-b", "zone-c"};
constexpr std::array<const char*, 5> pools{"general", "batch", "web", "data", "system"};

std::string milli(std::int64_t m) { return m % 1000 == 0 ? std::to_string(m / 1000) : std::to_string(m) + "m"; }

// A UID in the API server's form (a canonical UUID), fixed by the node and the pod's place on it.
std::string farm_uid(std::ptrdiff_t node, int pod) {
  char text[40];
  std::snprintf(text, sizeof text, "%08x-0000-4000-8000-%012x", static_cast<unsigned>(node),
                static_cast<unsigned>(pod));
  return text;
}

}  // namespace

std::string ReportFarm::pod_ip(std::size_t index) {
  const std::size_t k = index + 1;
  // 127.1.0.1 onwards; 127.<1+k/65536>.x.y keeps going past 65535 nodes.
  return "127." + std::to_string(1 + (k >> 16)) + "." + std::to_string((k >> 8) & 0xff) + "." +
         std::to_string(k & 0xff);
}

ReportFarm::ReportFarm(ReportFarmOptions options, const Clock& clock) : options_(options), clock_(clock) {
  std::mt19937_64 random(options_.seed);
  nodes_.reserve(static_cast<std::size_t>(options_.nodes));
  for (int i = 0; i < options_.nodes; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "node-%05d", i);
    const Type& type = types[random() % types.size()];
    FarmNode n;
    n.name = name;
    n.labels = {{"kubernetes.io/hostname", name},
                {"topology.kubernetes.io/zone", zones[static_cast<std::size_t>(i) % zones.size()]},
                {"node.kubernetes.io/instance-type", type.name},
                {"nodepack.dev/pool", pools[random() % pools.size()]}};
    n.cpu_allocatable = type.cpu;
    n.memory_allocatable = type.memory;
    n.daemonset_pods = 2;
    n.daemonset_cpu_milli = 2 * 150;
    n.daemonset_memory = 2 * (200LL << 20);
    n.pods = options_.pods_per_node;
    n.cpu_allocated_milli = n.daemonset_cpu_milli;
    n.memory_allocated = n.daemonset_memory;
    // Workload pods until the node is roughly as full as a busy cluster's (never over allocatable).
    for (int p = n.daemonset_pods; p < options_.pods_per_node; ++p) {
      const std::int64_t cpu = 50 + static_cast<std::int64_t>(random() % 8) * 50;
      const std::int64_t memory = (64LL + static_cast<std::int64_t>(random() % 8) * 64) << 20;
      if (n.cpu_allocated_milli + cpu <= type.cpu_milli && n.memory_allocated + memory <= type.memory_bytes) {
        n.cpu_allocated_milli += cpu;
        n.memory_allocated += memory;
      }
    }
    by_ip_[pod_ip(nodes_.size())] = nodes_.size();
    by_name_[n.name] = nodes_.size();
    nodes_.push_back(std::move(n));
  }
}

std::vector<json::object> ReportFarm::node_objects() const {
  std::vector<json::object> out;
  out.reserve(nodes_.size());
  for (const auto& n : nodes_) {
    json::object labels;
    for (const auto& [k, v] : n.labels) {
      labels[k] = v;
    }
    out.push_back(json::object{
        {"metadata", {{"name", n.name}, {"labels", std::move(labels)}}},
        {"status",
         {{"allocatable", {{"cpu", n.cpu_allocatable}, {"memory", n.memory_allocatable}, {"pods", "110"}}},
          {"capacity", {{"cpu", n.cpu_allocatable}, {"memory", n.memory_allocatable}, {"pods", "110"}}}}}});
  }
  return out;
}

std::vector<json::object> ReportFarm::agent_pods(std::uint16_t port) const {
  std::vector<json::object> out;
  out.reserve(nodes_.size());
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    const auto& n = nodes_[i];
    out.push_back(json::object{
        {"metadata",
         {{"name", "nodepack-agent-" + n.name},
          {"namespace", "nodepack"},
          {"labels", {{"app.kubernetes.io/name", "nodepack-agent"}}},
          {"ownerReferences", json::array{{{"kind", "DaemonSet"}, {"name", "nodepack-agent"}}}}}},
        {"spec",
         {{"nodeName", n.name},
          {"containers",
           json::array{{{"name", "agent"}, {"ports", json::array{{{"name", "metrics"}, {"containerPort", port}}}}}}}}},
        {"status", {{"phase", "Running"}, {"podIP", pod_ip(i)}}}});
  }
  return out;
}

std::vector<json::object> ReportFarm::bound_pod_objects() const {
  std::vector<json::object> out;
  if (!options_.bound_pods) {
    return out;
  }
  out.reserve(nodes_.size() * static_cast<std::size_t>(std::max(options_.pods_per_node - 1, 0)));
  for (const auto& n : nodes_) {
    for (int p = 1; p < options_.pods_per_node; ++p) {
      const bool daemonset = p == 1;
      const std::string name = (daemonset ? "ds-" : "w" + std::to_string(p) + "-") + n.name;
      out.push_back(json::object{
          {"metadata",
           {{"name", name},
            {"namespace", daemonset ? "kube-system" : "default"},
            {"uid", farm_uid(&n - nodes_.data(), p)},
            {"ownerReferences", json::array{{{"kind", daemonset ? "DaemonSet" : "ReplicaSet"}, {"name", "owner"}}}}}},
          {"spec",
           {{"nodeName", n.name},
            {"containers",
             json::array{{{"name", "app"},
                          {"resources",
                           {{"requests",
                             {{"cpu", daemonset ? "150m" : "100m"}, {"memory", daemonset ? "200Mi" : "128Mi"}}}}}}}}}},
          {"status", {{"phase", "Running"}}}});
    }
  }
  return out;
}

std::vector<json::object> ReportFarm::pending_pod_objects() const {
  std::vector<json::object> out;
  for (int i = 0; i < options_.pending_pods; ++i) {
    out.push_back(
        json::object{{"metadata", {{"name", "pending-" + std::to_string(i)}, {"namespace", "batch"}}},
                     {"spec",
                      {{"containers", json::array{{{"name", "app"},
                                                   {"resources",
                                                    {{"requests",
                                                      {{"cpu", milli(250 + (i % 4) * 250)},
                                                       {"memory", std::to_string(256 << (i % 3)) + "Mi"}}}}}}}}}},
                     {"status", {{"phase", "Pending"}}}});
  }
  return out;
}

std::string ReportFarm::report(std::size_t index) const {
  const auto& n = nodes_[index];
  json::object labels;
  for (const auto& [k, v] : n.labels) {
    labels[k] = v;
  }
  json::object report{{"schema_version", 1},
                      {"node", n.name},
                      {"labels", std::move(labels)},
                      {"node_known", true},
                      {"allocatable", {{"cpu", n.cpu_allocatable}, {"memory", n.memory_allocatable}, {"pods", "110"}}},
                      {"allocated",
                       {{"cpu", milli(n.cpu_allocated_milli)},
                        {"memory", std::to_string(n.memory_allocated)},
                        {"pods", std::to_string(n.pods)}}},
                      {"daemonset_allocated",
                       {{"cpu", milli(n.daemonset_cpu_milli)},
                        {"memory", std::to_string(n.daemonset_memory)},
                        {"pods", std::to_string(n.daemonset_pods)}}},
                      {"pod_count", n.pods},
                      {"daemonset_pod_count", n.daemonset_pods},
                      {"numa_zones", json::array()},
                      {"synced", true},
                      {"generation", generation(index)},
                      {"built_at", format_rfc3339(clock_.now())}};
  return json::serialize(report);
}

std::uint64_t ReportFarm::generation(std::size_t index) const {
  if (options_.change_every_seconds <= 0) {
    return 1;
  }
  const auto period = std::chrono::seconds(options_.change_every_seconds);
  // Node i's phase within the period: spread evenly, so as many reports change each second.
  const auto phase = period * static_cast<std::int64_t>(index % 1000) / 1000;
  return 1 + static_cast<std::uint64_t>((clock_.now().time_since_epoch() + phase) / period);
}

http::Router ReportFarm::router() const {
  http::Router router;
  const auto reply = [this](const http::Request& request, std::size_t index) {
    if (options_.change_every_seconds <= 0) {
      return http::Reply{http::make_response(request, bhttp::status::ok, report(index), "application/json"), {}};
    }
    const std::string etag = "\"g" + std::to_string(generation(index)) + "\"";
    if (request[bhttp::field::if_none_match] == etag) {
      auto unchanged = http::make_response(request, bhttp::status::not_modified, "", "application/json");
      unchanged.set(bhttp::field::etag, etag);
      return http::Reply{std::move(unchanged), {}};
    }
    auto response = http::make_response(request, bhttp::status::ok, report(index), "application/json");
    response.set(bhttp::field::etag, etag);
    return http::Reply{std::move(response), {}};
  };
  const auto not_found = [](const http::Request& request, std::string what) {
    return http::Reply{http::make_response(request, bhttp::status::not_found, what + "\n"), {}};
  };
  router.add("/report", [this, reply, not_found](const http::Request& request) {
    std::string host(request[bhttp::field::host]);
    if (const auto colon = host.rfind(':'); colon != std::string::npos) {
      host.resize(colon);
    }
    const auto it = by_ip_.find(host);
    if (it == by_ip_.end()) {
      return not_found(request, "no synthetic node behind address " + host);
    }
    return reply(request, it->second);
  });
  router.add_prefix("/nodes/", [this, reply, not_found](const http::Request& request) {
    std::string_view path = http::target_path(request);
    path.remove_prefix(std::string_view("/nodes/").size());
    const auto slash = path.find('/');
    if (slash == std::string_view::npos || path.substr(slash) != "/report") {
      return not_found(request, "want /nodes/NAME/report");
    }
    const auto it = by_name_.find(std::string(path.substr(0, slash)));
    if (it == by_name_.end()) {
      return not_found(request, "no synthetic node " + std::string(path.substr(0, slash)));
    }
    return reply(request, it->second);
  });
  return router;
}

}  // namespace nodepack::sim
