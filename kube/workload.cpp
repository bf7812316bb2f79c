#include "kube/workload.hpp"

#include <algorithm>
#include <cctype>

namespace nodepack::kube {
namespace {

// `name` without its "-<suffix>", when it ends so.
std::string without_suffix(const std::string& name, const std::string& suffix) {
  if (suffix.empty() || name.size() <= suffix.size() + 1 || !name.ends_with("-" + suffix)) {
    return {};
  }
  return name.substr(0, name.size() - suffix.size() - 1);
}

// A CronJob names its Jobs "<cronjob>-<scheduled time in minutes since the epoch>": 8 or more
// digits today.
std::string cronjob_of(const std::string& job) {
  const auto dash = job.rfind('-');
  if (dash == std::string::npos || dash == 0 || job.size() - dash - 1 < 8) {
    return {};
  }
  const bool digits = std::all_of(job.begin() + static_cast<std::ptrdiff_t>(dash) + 1, job.end(),
                                  [](unsigned char c) { return std::isdigit(c) != 0; });
  return digits ? job.substr(0, dash) : std::string{};
}

}  // namespace

Workload workload_of(const Pod& pod) {
  if (pod.owner_references.empty()) {
    return {"Pod", pod.name};
  }
  const auto& owner = pod.owner_references.front();
  if (owner.kind == "ReplicaSet") {
    const auto hash = pod.labels.find("pod-template-hash");
    if (hash != pod.labels.end()) {
      if (auto deployment = without_suffix(owner.name, hash->second); !deployment.empty()) {
        return {"Deployment", std::move(deployment)};
      }
    }
  }
  if (owner.kind == "Job") {
    if (auto cronjob = cronjob_of(owner.name); !cronjob.empty()) {
      return {"CronJob", std::move(cronjob)};
    }
  }
  return {owner.kind, owner.name};
}

}  // namespace nodepack::kube
