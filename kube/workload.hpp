#pragma once

// A pod's workload: the controller a person names it by (the Deployment, not its ReplicaSet; the
// CronJob, not today's Job), as kubectl and dashboards group pods. Derived from ownerReferences
// and the controllers' naming rules, with no API call.

#include "kube/pod.hpp"

#include <string>

namespace nodepack::kube {

struct Workload {
  std::string kind;  // Deployment, StatefulSet, DaemonSet, Job, CronJob, ReplicaSet, ... or Pod
  std::string name;
};

// ReplicaSet "web-5d8f7c9b4" with the pod's pod-template-hash "5d8f7c9b4" → Deployment "web";
// Job "backup-28913760" (a CronJob's scheduled minute) → CronJob "backup"; any other owner as
// it is; no owner → the pod itself.
Workload workload_of(const Pod& pod);

}  // namespace nodepack::kube
