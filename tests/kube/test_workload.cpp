// A pod's workload from its ownerReferences, as kubectl users name it.
#include "kube/workload.hpp"

#include <catch2/catch.hpp>

namespace nk = nodepack::kube;

namespace {
nk::Pod pod(std::string name, std::vector<nk::OwnerReference> owners,
            std::map<std::string, std::string, std::less<>> labels = {}) {
  nk::Pod p;
  p.name = std::move(name);
  p.owner_references = std::move(owners);
  p.labels = std::move(labels);
  return p;
}
void check(const nk::Workload& w, const std::string& kind, const std::string& name) {
  CHECK(w.kind == kind);
  CHECK(w.name == name);
}
}  // namespace

TEST_CASE("workload: a Deployment's pod is named by the Deployment", "[kube][workload]") {
  check(nk::workload_of(
            pod("web-5d8f7c9b4-x2x9k", {{"ReplicaSet", "web-5d8f7c9b4"}}, {{"pod-template-hash", "5d8f7c9b4"}})),
        "Deployment", "web");
  // A dash in the Deployment's own name stays.
  check(nk::workload_of(pod("api-v2-7f-abcde", {{"ReplicaSet", "api-v2-7f"}}, {{"pod-template-hash", "7f"}})),
        "Deployment", "api-v2");
}

TEST_CASE("workload: a bare ReplicaSet, a hash that does not match, and other controllers stay as they are",
          "[kube][workload]") {
  check(nk::workload_of(pod("rs-abcde", {{"ReplicaSet", "rs"}})), "ReplicaSet", "rs");
  check(nk::workload_of(pod("rs-abcde", {{"ReplicaSet", "rs"}}, {{"pod-template-hash", "zzz"}})), "ReplicaSet", "rs");
  check(nk::workload_of(pod("db-0", {{"StatefulSet", "db"}})), "StatefulSet", "db");
  check(nk::workload_of(pod("fluent-q8x7z", {{"DaemonSet", "fluent"}})), "DaemonSet", "fluent");
  check(nk::workload_of(pod("migrate-abcde", {{"Job", "migrate"}})), "Job", "migrate");
  check(nk::workload_of(pod("migrate-7-abcde", {{"Job", "migrate-7"}})), "Job", "migrate-7");  // not a schedule
}

TEST_CASE("workload: a CronJob's Job is named by the CronJob", "[kube][workload]") {
  check(nk::workload_of(pod("backup-28913760-k2j4h", {{"Job", "backup-28913760"}})), "CronJob", "backup");
}

TEST_CASE("workload: a pod without owner is its own workload", "[kube][workload]") {
  check(nk::workload_of(pod("debug", {})), "Pod", "debug");
}
