#include "kube/pod_store.hpp"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

using namespace nodepack::kube;

namespace {

// One container with the given requests; `owner` "DaemonSet" makes it a DaemonSet pod.
Pod make_pod(const std::string& uid, const std::string& cpu, const std::string& memory, const std::string& phase,
             const std::string& owner = "ReplicaSet") {
  const std::string text =
      R"({"metadata":{"uid":")" + uid + R"(","name":"p-)" + uid +
      R"(","namespace":"default","ownerReferences":[{"kind":")" + owner +
      R"(","name":"o"}]},"spec":{"nodeName":"n1","containers":[{"name":"c","resources":{"requests":{"cpu":")" + cpu +
      R"(","memory":")" + memory + R"("}}}]},"status":{"phase":")" + phase + R"("}})";
  auto pod = parse_pod(boost::json::parse(text));
  REQUIRE(pod.has_value());
  return *pod;
}

std::int64_t milli(const ResourceList& list, const char* name) {
  auto it = list.find(name);
  return it == list.end() ? 0 : it->second.milli_value_ceil();
}

}  // namespace

TEST_CASE("pod store keeps node totals exact through add, update, phase change and delete") {
  PodStore store;
  store.upsert(make_pod("a", "250m", "64Mi", "Running"));
  store.upsert(make_pod("b", "0.5", "128Mi", "Pending"));
  store.upsert(make_pod("ds", "100m", "50M", "Running", "DaemonSet"));
  auto t = store.totals();
  CHECK(milli(t.allocated, "cpu") == 850);                      // 250 + 500 + 100
  CHECK(t.allocated.at("memory").value_ceil() == 251'326'592);  // 64Mi + 128Mi + 50e6
  CHECK(milli(t.daemonset_allocated, "cpu") == 100);
  CHECK(t.daemonset_allocated.at("memory").value_ceil() == 50'000'000);
  CHECK(t.pod_count == 3);
  CHECK(t.daemonset_pod_count == 1);

  // Resize b's request, then b completes: its requests leave the totals.
  store.upsert(make_pod("b", "750m", "128Mi", "Running"));
  CHECK(milli(store.totals().allocated, "cpu") == 1100);
  store.upsert(make_pod("b", "750m", "128Mi", "Succeeded"));
  t = store.totals();
  CHECK(milli(t.allocated, "cpu") == 350);
  CHECK(t.allocated.at("memory").value_ceil() == 117'108'864);  // 64Mi + 50e6
  CHECK(t.pod_count == 2);
  CHECK(store.size() == 3);  // still stored, just not counted

  store.remove("ds");
  t = store.totals();
  CHECK(milli(t.allocated, "cpu") == 250);
  CHECK(milli(t.daemonset_allocated, "cpu") == 0);
  CHECK(t.daemonset_pod_count == 0);
  store.remove("unknown");  // harmless
  CHECK(store.recount());   // incremental totals match a full recount
}

TEST_CASE("pod store replace drops pods missing from a relist and bumps the generation") {
  PodStore store;
  store.upsert(make_pod("a", "1", "1Gi", "Running"));
  store.upsert(make_pod("b", "2", "1Gi", "Running"));
  const auto before = store.totals().generation;
  store.replace({make_pod("b", "2", "1Gi", "Running"), make_pod("c", "300m", "1Gi", "Running")});
  const auto t = store.totals();
  CHECK(t.generation > before);
  CHECK(milli(t.allocated, "cpu") == 2300);
  CHECK(t.pod_count == 2);
  CHECK_FALSE(store.find("a"));
  REQUIRE(store.find("c"));
  CHECK(store.find("c")->counted);
}

TEST_CASE("pod store with() shows a stored pod in place, and says when there is none") {
  PodStore store;
  store.upsert(make_pod("a", "250m", "64Mi", "Running"));
  std::string name;
  std::int64_t cpu = 0;
  CHECK(store.with("a", [&](const StoredPod& p) {
    name = p.pod.name;
    cpu = milli(p.requests.requests, "cpu");
  }));
  CHECK(name == "p-a");
  CHECK(cpu == 250);
  bool called = false;
  CHECK_FALSE(store.with("missing", [&](const StoredPod&) { called = true; }));
  CHECK_FALSE(called);
}

TEST_CASE("totals never drift: 1000 adds and removes of thirds of a core return to zero") {
  PodStore store;
  for (int i = 0; i < 1000; ++i) {
    store.upsert(make_pod("p" + std::to_string(i), "333333334n", "1", "Running"));
  }
  CHECK(milli(store.totals().allocated, "cpu") == 334000);  // each pod rounds up to 334m
  for (int i = 0; i < 1000; ++i) {
    store.remove("p" + std::to_string(i));
  }
  const auto t = store.totals();
  CHECK(t.allocated.at("cpu").is_zero());
  CHECK(t.pod_count == 0);
}
