#pragma once

// Pods for the accounting tests, as the API server would send them.

#include "common/rfc3339.hpp"
#include "kube/pod.hpp"

#include <boost/json.hpp>

#include <chrono>
#include <optional>
#include <string>

namespace nodepack::testing {

struct ContainerSpec {
  std::string name;
  std::string cpu;     // request; empty: none
  std::string memory;  // request; empty: none
  std::string cpu_limit;
  std::string memory_limit;
  std::string restart_policy;  // "Always" for a sidecar
};

inline boost::json::object container_json(const ContainerSpec& c) {
  boost::json::object requests;
  boost::json::object limits;
  if (!c.cpu.empty()) {
    requests["cpu"] = c.cpu;
  }
  if (!c.memory.empty()) {
    requests["memory"] = c.memory;
  }
  if (!c.cpu_limit.empty()) {
    limits["cpu"] = c.cpu_limit;
  }
  if (!c.memory_limit.empty()) {
    limits["memory"] = c.memory_limit;
  }
  boost::json::object out{{"name", c.name}, {"resources", {{"requests", requests}, {"limits", limits}}}};
  if (!c.restart_policy.empty()) {
    out["restartPolicy"] = c.restart_policy;
  }
  return out;
}

// A containerStatuses[] entry: state "running" (with startedAt), "waiting" or "terminated".
inline boost::json::object status_json(const std::string& name, const std::string& state,
                                       std::optional<std::chrono::system_clock::time_point> started = {},
                                       const std::string& container_id = "") {
  boost::json::object s{{"name", name}, {"restartCount", 0}};
  if (!container_id.empty()) {
    s["containerID"] = "containerd://" + container_id;
  }
  if (state == "running") {
    s["state"] = {{"running", {{"startedAt", started ? format_rfc3339(*started) : "2026-01-01T00:00:00Z"}}}};
  } else if (state == "terminated") {
    s["state"] = {{"terminated", {{"exitCode", 0}, {"reason", "Completed"}}}};
  } else {
    s["state"] = {{"waiting", {{"reason", "PodInitializing"}}}};
  }
  return s;
}

inline boost::json::object pod_object(const std::string& name, const std::string& uid, const std::string& phase,
                                      boost::json::array containers, boost::json::array init_containers = {},
                                      boost::json::array statuses = {}, boost::json::array init_statuses = {}) {
  return boost::json::object{
      {"metadata", {{"name", name}, {"namespace", "team-a"}, {"uid", uid}}},
      {"spec",
       {{"nodeName", "n1"}, {"containers", std::move(containers)}, {"initContainers", std::move(init_containers)}}},
      {"status",
       {{"phase", phase},
        {"containerStatuses", std::move(statuses)},
        {"initContainerStatuses", std::move(init_statuses)}}}};
}

inline kube::Pod parse(const boost::json::object& o) {
  auto pod = kube::parse_pod(o);
  if (!pod) {
    throw std::runtime_error(pod.error().message);
  }
  return *pod;
}

}  // namespace nodepack::testing
