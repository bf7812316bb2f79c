// Snapshot arithmetic without any I/O: cluster and group sums, freshness and what a node without
// a usable report contributes, fit and stranded capacity, pending demand, and the exposition
// (exact names, HELP texts, label order). Every expected number is worked out in a comment.

#include "aggregator/aggregator.hpp"
#include "aggregator/snapshot.hpp"
#include "aggregator/snapshot_render.hpp"
#include "tests/support/metrics_text.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

using namespace nodepack;
using namespace nodepack::aggregator;
using kube::Quantity;
using nodepack::testing::metric;
using nodepack::testing::parse_metrics;

namespace {

const auto t0 = std::chrono::system_clock::time_point{} + std::chrono::hours(24 * 365 * 50);

Quantity q(const char* text) { return Quantity::parse(text).value(); }

kube::ResourceList list(std::initializer_list<std::pair<const char*, const char*>> items) {
  kube::ResourceList out;
  for (const auto& [k, v] : items) {
    out[k] = q(v);
  }
  return out;
}

std::shared_ptr<const NodeInfo> node(const std::string& name, std::map<std::string, std::string> labels,
                                     kube::ResourceList allocatable) {
  auto n = std::make_shared<NodeInfo>();
  n->name = name;
  n->labels = std::move(labels);
  n->allocatable = std::move(allocatable);
  return n;
}

ReportState report(const std::string& name, kube::ResourceList allocated, kube::ResourceList ds, std::int64_t pods,
                   std::chrono::system_clock::time_point built, std::chrono::system_clock::time_point pulled) {
  auto r = std::make_shared<NodeReport>();
  r->node = name;
  r->allocated = std::move(allocated);
  r->allocated["pods"] = Quantity::from_units(pods);
  r->daemonset_allocated = std::move(ds);
  r->daemonset_allocated["pods"] = Quantity::from_units(1);
  r->pod_count = pods;
  r->daemonset_pod_count = 1;
  r->built_at = built;
  ReportState s;
  s.good = std::move(r);
  s.good_pulled = pulled;
  s.has_agent = true;
  return s;
}

// Four nodes: n1, n2 in zone a; n3 and n4 in zone b; n4 has no agent. See each test for sums.
struct Fixture {
  NodeMap nodes;
  ReportMap reports;
  PendingMap pending;
  std::shared_ptr<SnapshotConfig> config = std::make_shared<SnapshotConfig>();

  Fixture() {
    nodes["n1"] =
        node("n1", {{"zone", "a"}, {"type", "m5"}}, list({{"cpu", "4"}, {"memory", "16Gi"}, {"pods", "110"}}));
    nodes["n2"] =
        node("n2", {{"zone", "a"}, {"type", "c5"}}, list({{"cpu", "8"}, {"memory", "32Gi"}, {"pods", "110"}}));
    nodes["n3"] = node("n3", {{"zone", "b"}}, list({{"cpu", "3920m"}, {"memory", "15Gi"}, {"pods", "4"}}));
    nodes["n4"] = node("n4", {{"zone", "b"}, {"type", "m5"}}, list({{"cpu", "2"}, {"memory", "8Gi"}, {"pods", "110"}}));
    const auto ds = list({{"cpu", "100m"}, {"memory", "128Mi"}});
    reports["n1"] = report("n1", list({{"cpu", "2500m"}, {"memory", "6Gi"}}), ds, 10, t0, t0);
    reports["n2"] = report("n2", list({{"cpu", "7"}, {"memory", "8Gi"}}), ds, 20, t0, t0);
    reports["n3"] = report("n3", list({{"cpu", "1"}, {"memory", "2Gi"}}), ds, 3, t0, t0);
    config->resources = {"cpu", "memory", "pods"};
    config->label_groups = {LabelGroup{{"zone"}, "zone"}, LabelGroup{{"zone", "type"}, "zone,type"}};
    config->fit_shapes = {FitShape{"small", list({{"cpu", "500m"}, {"memory", "1Gi"}})},
                          FitShape{"big", list({{"cpu", "2"}, {"memory", "8Gi"}})}};
    config->stale_after = std::chrono::minutes(2);
  }

  std::shared_ptr<const Snapshot> build(std::chrono::system_clock::time_point now = t0) const {
    return build_snapshot(SnapshotInputs{nodes, reports, pending, now}, config, 1);
  }
  std::map<std::string, double> metrics(std::chrono::system_clock::time_point now = t0) const {
    return parse_metrics(render_snapshot_metrics(*build(now)));
  }
};

double at(const std::map<std::string, double>& m, const std::string& series) {
  const auto v = metric(m, series);
  INFO(series);
  REQUIRE(v.has_value());
  return *v;
}

}  // namespace

TEST_CASE("cluster and group sums are exact and skip the node without a report") {
  Fixture f;
  const auto m = f.metrics();
  // cpu allocated 2.5 + 7 + 1 = 10.5 of 4 + 8 + 3.92 = 15.92; n4 (no agent) contributes nothing.
  CHECK(at(m, R"(kube_binpacking_cluster_allocated{resource="cpu"})") == Approx(10.5).epsilon(0));
  CHECK(at(m, R"(kube_binpacking_cluster_allocatable{resource="cpu"})") == Approx(15.92).epsilon(0));
  CHECK(at(m, R"(kube_binpacking_cluster_utilization_ratio{resource="cpu"})") == Approx(10.5 / 15.92).epsilon(1e-12));
  // memory 6 + 8 + 2 = 16Gi = 17179869184 of 16 + 32 + 15 = 63Gi = 67645734912.
  CHECK(at(m, R"(kube_binpacking_cluster_allocated{resource="memory"})") == 17179869184.0);
  CHECK(at(m, R"(kube_binpacking_cluster_allocatable{resource="memory"})") == 67645734912.0);
  // pods 10 + 20 + 3 = 33 of 110 + 110 + 4 = 224.
  CHECK(at(m, R"(kube_binpacking_cluster_allocated{resource="pods"})") == 33);
  CHECK(at(m, R"(kube_binpacking_cluster_allocatable{resource="pods"})") == 224);
  // DaemonSets: 3 x 100m = 0.3 cores, 3 x 128Mi = 402653184 bytes, 3 pods.
  CHECK(at(m, R"(kube_binpacking_cluster_daemonset_overhead{resource="cpu"})") == Approx(0.3).epsilon(0));
  CHECK(at(m, R"(kube_binpacking_cluster_daemonset_overhead{resource="memory"})") == 402653184.0);
  CHECK(at(m, R"(kube_binpacking_cluster_daemonset_overhead_ratio{resource="cpu"})") ==
        Approx(0.3 / 15.92).epsilon(1e-12));
  CHECK(at(m, R"(kube_binpacking_cluster_daemonset_overhead{resource="pods"})") == 3);
  CHECK(at(m, "kube_binpacking_cluster_node_count") == 4);
  CHECK(at(m, "nodepack_aggregator_reporting_nodes") == 3);

  // zone a = n1 + n2: cpu 9.5 of 12, memory 14Gi of 48Gi; zone b = n3 (+ n4 counted, not summed).
  CHECK(at(m, R"(kube_binpacking_group_allocated{label_group="zone",label_group_value="a",resource="cpu"})") == 9.5);
  CHECK(at(m, R"(kube_binpacking_group_allocatable{label_group="zone",label_group_value="a",resource="cpu"})") == 12);
  CHECK(at(m, R"(kube_binpacking_group_utilization_ratio{label_group="zone",label_group_value="a",resource="cpu"})") ==
        Approx(9.5 / 12).epsilon(1e-12));
  CHECK(at(m, R"(kube_binpacking_group_allocated{label_group="zone",label_group_value="a",resource="memory"})") ==
        15032385536.0);
  CHECK(at(m, R"(kube_binpacking_group_daemonset_overhead{label_group="zone",label_group_value="a",resource="cpu"})") ==
        Approx(0.2).epsilon(0));
  CHECK(
      at(m,
         R"(kube_binpacking_group_daemonset_overhead_ratio{label_group="zone",label_group_value="a",resource="cpu"})") ==
      Approx(0.2 / 12).epsilon(1e-12));
  CHECK(at(m, R"(kube_binpacking_group_node_count{label_group="zone",label_group_value="a"})") == 2);
  CHECK(at(m, R"(kube_binpacking_group_node_count{label_group="zone",label_group_value="b"})") == 2);
  CHECK(at(m, R"(kube_binpacking_group_allocatable{label_group="zone",label_group_value="b",resource="cpu"})") ==
        Approx(3.92).epsilon(0));
  // Combination group: only existing tuples, <none> for n3's missing type.
  CHECK(at(m, R"(kube_binpacking_group_node_count{label_group="zone,type",label_group_value="a,m5"})") == 1);
  CHECK(at(m, R"(kube_binpacking_group_node_count{label_group="zone,type",label_group_value="a,c5"})") == 1);
  CHECK(at(m, R"(kube_binpacking_group_node_count{label_group="zone,type",label_group_value="b,<none>"})") == 1);
  CHECK(at(m, R"(kube_binpacking_group_node_count{label_group="zone,type",label_group_value="b,m5"})") == 1);
  CHECK_FALSE(metric(m, R"(kube_binpacking_group_node_count{label_group="zone,type",label_group_value="b,c5"})"));
  CHECK(at(m, R"(kube_binpacking_group_allocated{label_group="zone,type",label_group_value="b,m5",resource="cpu"})") ==
        0);

  // Node series for nodes with a usable report only.
  CHECK(at(m, R"(kube_binpacking_node_allocated{node="n1",resource="cpu"})") == 2.5);
  CHECK(at(m, R"(kube_binpacking_node_allocatable{node="n3",resource="cpu"})") == Approx(3.92).epsilon(0));
  CHECK(at(m, R"(kube_binpacking_node_utilization_ratio{node="n2",resource="cpu"})") == 7.0 / 8.0);
  CHECK(at(m, R"(kube_binpacking_node_daemonset_overhead{node="n2",resource="memory"})") == 134217728.0);
  CHECK(at(m, R"(kube_binpacking_node_daemonset_overhead_ratio{node="n2",resource="memory"})") ==
        Approx(134217728.0 / 34359738368.0).epsilon(1e-12));
  CHECK_FALSE(metric(m, R"(kube_binpacking_node_allocatable{node="n4",resource="cpu"})"));

  CHECK(at(m, R"(nodepack_aggregator_nodes{state="fresh"})") == 3);
  CHECK(at(m, R"(nodepack_aggregator_nodes{state="missing"})") == 1);
  CHECK(at(m, R"(nodepack_aggregator_nodes{state="stale"})") == 0);
  CHECK(at(m, R"(nodepack_aggregator_nodes{state="invalid"})") == 0);
}

TEST_CASE("fit and stranded capacity per shape, cluster and group") {
  Fixture f;
  const auto m = f.metrics();
  // Free per node (allocatable - allocated):
  //   n1: cpu 1.5, memory 10Gi, pods 100   small (500m, 1Gi): min(3, 10, 100) = 3   big (2, 8Gi): min(0, 1) = 0
  //   n2: cpu 1,   memory 24Gi, pods 90    small: min(2, 24, 90) = 2                big: min(0, 3) = 0
  //   n3: cpu 2.92, memory 13Gi, pods 1    small: min(5, 13, 1) = 1 (pod slots)     big: min(1, 1, 1) = 1
  CHECK(at(m, R"(kube_binpacking_cluster_fit_pods{shape="small"})") == 6);
  CHECK(at(m, R"(kube_binpacking_cluster_fit_pods{shape="big"})") == 1);
  // Stranded for big: n1 and n2 fit none: cpu 1.5 + 1 = 2.5, memory 10Gi + 24Gi = 34Gi, pods 100 + 90.
  CHECK(at(m, R"(kube_binpacking_cluster_stranded{shape="big",resource="cpu"})") == 2.5);
  CHECK(at(m, R"(kube_binpacking_cluster_stranded{shape="big",resource="memory"})") == 36507222016.0);
  CHECK(at(m, R"(kube_binpacking_cluster_stranded{shape="big",resource="pods"})") == 190);
  // Every node fits at least one small pod: nothing stranded.
  CHECK(at(m, R"(kube_binpacking_cluster_stranded{shape="small",resource="cpu"})") == 0);
  CHECK(at(m, R"(kube_binpacking_cluster_stranded{shape="small",resource="memory"})") == 0);
  // Groups: zone a = n1 + n2, zone b = n3 (n4 has no report and adds nothing).
  CHECK(at(m, R"(kube_binpacking_group_fit_pods{label_group="zone",label_group_value="a",shape="small"})") == 5);
  CHECK(at(m, R"(kube_binpacking_group_fit_pods{label_group="zone",label_group_value="a",shape="big"})") == 0);
  CHECK(at(m, R"(kube_binpacking_group_fit_pods{label_group="zone",label_group_value="b",shape="big"})") == 1);
  CHECK(
      at(m, R"(kube_binpacking_group_stranded{label_group="zone",label_group_value="a",shape="big",resource="cpu"})") ==
      2.5);
  CHECK(
      at(m, R"(kube_binpacking_group_stranded{label_group="zone",label_group_value="b",shape="big",resource="cpu"})") ==
      0);

  SECTION("an exact fit is a fit: free 2 cores fits a 2-core pod once, 3920m fits 500m seven times") {
    // n3's pod slots no longer bind: 4 + 100 = 104 allocatable, 3 used.
    auto n3 = std::make_shared<NodeInfo>(*f.nodes["n3"]);
    n3->allocatable["pods"] = q("104");
    f.nodes["n3"] = n3;
    const auto m2 = f.metrics();
    // n3 small: min(floor(2.92 / 0.5) = 5, floor(13Gi / 1Gi) = 13) = 5 -> 3 + 2 + 5 = 10.
    CHECK(at(m2, R"(kube_binpacking_cluster_fit_pods{shape="small"})") == 10);
  }
  SECTION("a shape resource the node lacks fits nothing") {
    f.config->fit_shapes.push_back(FitShape{"gpu", list({{"nvidia.com/gpu", "1"}})});
    const auto m2 = f.metrics();
    CHECK(at(m2, R"(kube_binpacking_cluster_fit_pods{shape="gpu"})") == 0);
    // All free capacity is stranded for it: cpu 1.5 + 1 + 2.92 = 5.42.
    CHECK(at(m2, R"(kube_binpacking_cluster_stranded{shape="gpu",resource="cpu"})") == Approx(5.42).epsilon(1e-12));
  }
}

TEST_CASE("fit_count is exact floor division and honours pod slots") {
  const FitShape shape{"s", list({{"cpu", "300m"}, {"memory", "100Mi"}})};
  // cpu: floor(1 / 0.3) = 3; memory: floor(1Gi / 100Mi) = 10.
  CHECK(fit_count(shape, list({{"cpu", "1"}, {"memory", "1Gi"}}), {}, std::nullopt) == 3);
  CHECK(fit_count(shape, list({{"cpu", "1"}, {"memory", "1Gi"}}), {}, 2) == 2);
  CHECK(fit_count(shape, list({{"cpu", "1"}, {"memory", "1Gi"}}), {}, -3) == 0);
  // 0.9 cores exactly: 900m / 300m = 3, no floating-point 2.9999.
  CHECK(fit_count(shape, list({{"cpu", "0.9"}, {"memory", "1Gi"}}), {}, std::nullopt) == 3);
  // Overcommitted: allocated above allocatable fits nothing.
  CHECK(fit_count(shape, list({{"cpu", "1"}, {"memory", "1Gi"}}), list({{"cpu", "1100m"}}), std::nullopt) == 0);
}

TEST_CASE("freshness: stale, invalid and their bound") {
  Fixture f;
  SECTION("a report older than --stale-after by built_at stops counting") {
    // n3's report was built 3 minutes before now; the others are fresh at now.
    const auto now = t0 + std::chrono::minutes(3);
    for (const auto* name : {"n1", "n2"}) {
      f.reports[name].good = std::make_shared<NodeReport>(*f.reports[name].good);
      std::const_pointer_cast<NodeReport>(f.reports[name].good)->built_at = now;
      f.reports[name].good_pulled = now;
    }
    f.reports["n3"].good_pulled = now;  // pulled just now, but built long ago
    const auto s = f.build(now);
    CHECK(s->state_counts[static_cast<int>(Freshness::stale)] == 1);
    CHECK(s->nodes[2].state == Freshness::stale);
    CHECK(s->nodes[2].reason.find("180s old") != std::string::npos);
    const auto m = parse_metrics(render_snapshot_metrics(*s));
    // Without n3: cpu 9.5 of 12; node_count still 4.
    CHECK(at(m, R"(kube_binpacking_cluster_allocated{resource="cpu"})") == 9.5);
    CHECK(at(m, R"(kube_binpacking_cluster_allocatable{resource="cpu"})") == 12);
    CHECK(at(m, "kube_binpacking_cluster_node_count") == 4);
    CHECK(at(m, R"(kube_binpacking_group_node_count{label_group="zone",label_group_value="b"})") == 2);
    CHECK(at(m, R"(kube_binpacking_group_allocatable{label_group="zone",label_group_value="b",resource="cpu"})") == 0);
    CHECK_FALSE(metric(m, R"(kube_binpacking_node_allocated{node="n3",resource="cpu"})"));
    CHECK(at(m, R"(nodepack_aggregator_nodes{state="stale"})") == 1);
  }
  SECTION("a report not pulled again for longer than --stale-after stops counting") {
    const auto now = t0 + std::chrono::seconds(121);
    for (auto& [name, state] : f.reports) {
      std::const_pointer_cast<NodeReport>(state.good)->built_at = now;  // agent clocks say fresh
    }
    const auto s = f.build(now);  // but nothing was pulled since t0
    CHECK(s->state_counts[static_cast<int>(Freshness::stale)] == 3);
    CHECK(s->cluster.reporting_nodes == 0);
    CHECK(s->cluster.allocatable[0].is_zero());
  }
  SECTION("exactly at the bound still counts") {
    const auto s = f.build(t0 + std::chrono::minutes(2));
    CHECK(s->state_counts[static_cast<int>(Freshness::fresh)] == 3);
  }
  SECTION("an invalid answer keeps the last good report within the bound, and not beyond") {
    f.reports["n1"].last_failure = PullFailure{PullError::malformed, "not JSON: syntax error"};
    auto s = f.build(t0 + std::chrono::seconds(30));
    CHECK(s->nodes[0].state == Freshness::invalid);
    CHECK(s->nodes[0].usable);
    CHECK(s->nodes[0].reason == "malformed: not JSON: syntax error");
    CHECK(s->cluster.reporting_nodes == 3);
    s = f.build(t0 + std::chrono::seconds(121));
    CHECK(s->nodes[0].state == Freshness::invalid);
    CHECK_FALSE(s->nodes[0].usable);
  }
  SECTION("a failed pull is not invalid: the node stays fresh until its report ages out") {
    f.reports["n2"].last_failure = PullFailure{PullError::connect, "connection refused"};
    CHECK(f.build(t0 + std::chrono::seconds(60))->nodes[1].state == Freshness::fresh);
    const auto s = f.build(t0 + std::chrono::seconds(150));
    CHECK(s->nodes[1].state == Freshness::stale);
    CHECK(s->nodes[1].reason.find("latest pull: connect: connection refused") != std::string::npos);
  }
  SECTION("missing reasons say why") {
    f.reports["n4"].has_agent = true;
    f.reports["n4"].last_failure = PullFailure{PullError::not_synced, "agent has not synced its watches yet"};
    const auto s = f.build();
    CHECK(s->nodes[3].state == Freshness::missing);
    CHECK(s->nodes[3].reason == "not_synced: agent has not synced its watches yet");
    const auto lists = freshness_lists(*s);
    CHECK(boost::json::serialize(lists) == R"({"fresh":["n1","n2","n3"],"stale":[],"missing":["n4"],"invalid":[]})");
  }
}

TEST_CASE("the Node's allocatable wins; the report fills resources the Node lacks") {
  Fixture f;
  auto r = std::make_shared<NodeReport>(*f.reports["n1"].good);
  r->allocatable = list({{"cpu", "100"}, {"nvidia.com/gpu", "4"}});
  r->allocated["nvidia.com/gpu"] = q("1");
  f.reports["n1"].good = r;
  f.config->resources = {"cpu", "nvidia.com/gpu"};
  const auto m = f.metrics();
  CHECK(at(m, R"(kube_binpacking_node_allocatable{node="n1",resource="cpu"})") == 4);
  CHECK(at(m, R"(kube_binpacking_node_allocatable{node="n1",resource="nvidia.com/gpu"})") == 4);
  CHECK(at(m, R"(kube_binpacking_node_utilization_ratio{node="n1",resource="nvidia.com/gpu"})") == 0.25);
  // Ratios are 0 when allocatable is 0 (n2 has no GPUs).
  CHECK(at(m, R"(kube_binpacking_node_utilization_ratio{node="n2",resource="nvidia.com/gpu"})") == 0);
}

TEST_CASE("pending demand sums exactly; pods count one each") {
  Fixture f;
  f.pending["uid-a"] = list({{"cpu", "250m"}, {"memory", "256Mi"}});
  f.pending["uid-b"] = list({{"cpu", "1"}, {"memory", "1Gi"}});
  const auto m = f.metrics();
  // cpu 0.25 + 1 = 1.25; memory 256Mi + 1Gi = 1342177280; pods 2.
  CHECK(at(m, R"(kube_binpacking_cluster_pending_requested{resource="cpu"})") == 1.25);
  CHECK(at(m, R"(kube_binpacking_cluster_pending_requested{resource="memory"})") == 1342177280.0);
  CHECK(at(m, R"(kube_binpacking_cluster_pending_requested{resource="pods"})") == 2);
  CHECK(at(m, "kube_binpacking_cluster_pending_pods") == 2);
}

TEST_CASE("exposition uses KBE's exact HELP texts and omits disabled parts") {
  Fixture f;
  const auto text = render_snapshot_metrics(*f.build());
  for (const char* line : {
           "# HELP kube_binpacking_node_allocated Total resource requested by pods on this node",
           "# HELP kube_binpacking_node_allocatable Total allocatable resource on this node",
           "# HELP kube_binpacking_node_utilization_ratio Ratio of allocated to allocatable (0.0-1.0+)",
           "# HELP kube_binpacking_cluster_allocated Cluster-wide total resource requested",
           "# HELP kube_binpacking_cluster_allocatable Cluster-wide total allocatable resource",
           "# HELP kube_binpacking_cluster_utilization_ratio Cluster-wide allocation ratio",
           "# HELP kube_binpacking_group_allocated Total resource requested by pods on nodes in this label group",
           "# HELP kube_binpacking_group_allocatable Total allocatable resource on nodes in this label group",
           "# HELP kube_binpacking_group_utilization_ratio Ratio of allocated to allocatable for nodes in this label "
           "group (0.0-1.0+)",
           "# HELP kube_binpacking_group_node_count Number of nodes in this label group",
           "# HELP kube_binpacking_node_daemonset_overhead Total resource requested by DaemonSet pods on this node",
           "# HELP kube_binpacking_node_daemonset_overhead_ratio Ratio of DaemonSet overhead to allocatable "
           "(0.0-1.0+)",
           "# HELP kube_binpacking_cluster_daemonset_overhead Cluster-wide total resource requested by DaemonSet pods",
           "# HELP kube_binpacking_cluster_daemonset_overhead_ratio Cluster-wide DaemonSet overhead ratio",
           "# HELP kube_binpacking_group_daemonset_overhead Total resource requested by DaemonSet pods on nodes in "
           "this label group",
           "# HELP kube_binpacking_group_daemonset_overhead_ratio Ratio of DaemonSet overhead to allocatable for "
           "nodes in this label group (0.0-1.0+)",
           "# HELP kube_binpacking_cluster_node_count Total number of nodes in the cluster",
           "# TYPE kube_binpacking_cluster_node_count gauge",
       }) {
    INFO(line);
    CHECK(text.find(std::string(line) + "\n") != std::string::npos);
  }
  f.config->node_metrics = false;
  f.config->label_groups.clear();
  f.config->fit_shapes.clear();
  f.config->pending_enabled = false;
  const auto bare = render_snapshot_metrics(*f.build());
  for (const char* absent : {"kube_binpacking_node_", "kube_binpacking_group_", "_fit_pods", "_stranded", "pending"}) {
    INFO(absent);
    CHECK(bare.find(absent) == std::string::npos);
  }
  CHECK(bare.find("kube_binpacking_cluster_allocated{resource=\"cpu\"}") != std::string::npos);
}

TEST_CASE("snapshot JSON carries what the page draws") {
  Fixture f;
  const auto j = snapshot_json(*f.build());
  CHECK(j.at("cluster").at("node_count").as_int64() == 4);
  CHECK(j.at("cluster").at("resources").at("cpu").at("allocated").as_double() == 10.5);
  CHECK(j.at("cluster").at("fit").at("small").as_int64() == 6);
  CHECK(j.at("nodes").as_array().size() == 4);
  CHECK(j.at("nodes").at(3).at("state").as_string() == "missing");
  CHECK(j.at("nodes").at(0).at("resources").at("cpu").at("utilization").as_double() == 2.5 / 4);
  CHECK(j.at("groups").at(0).at("label_group").as_string() == "zone");
  CHECK(j.at("freshness").at("fresh").as_int64() == 3);
}

TEST_CASE("snapshot JSON text written node by node is the tree's serialization") {
  Fixture f;
  const auto snapshot = f.build();
  const std::string text = snapshot_json_text(*snapshot);
  CHECK(text == boost::json::serialize(snapshot_json(*snapshot)) + "\n");
  f.config->label_groups.clear();
  f.config->fit_shapes.clear();
  const auto bare = f.build();
  CHECK(snapshot_json_text(*bare) == boost::json::serialize(snapshot_json(*bare)) + "\n");
}

TEST_CASE("--node-source: auto fills nodes without a fresh report from the aggregator's own figures") {
  Fixture f;
  // The aggregator's pod watch sees n1 as its agent does and n4 (no agent) with 1500m, 3Gi, 2 pods
  // of which one DaemonSet pod of 100m, 128Mi.
  std::map<std::string, kube::NodeTotals> own;
  own["n1"].allocated = list({{"cpu", "2500m"}, {"memory", "6Gi"}, {"pods", "10"}});
  own["n1"].pod_count = 10;
  own["n4"].allocated = list({{"cpu", "1500m"}, {"memory", "3Gi"}, {"pods", "2"}});
  own["n4"].daemonset_allocated = list({{"cpu", "100m"}, {"memory", "128Mi"}, {"pods", "1"}});
  own["n4"].pod_count = 2;
  own["n4"].daemonset_pod_count = 1;
  OwnFigures figures;
  figures.node = [&own](const std::string& n) -> const kube::NodeTotals* {
    const auto it = own.find(n);
    return it == own.end() ? nullptr : &it->second;
  };
  figures.usable = true;
  const auto build = [&](NodeSource source, OwnFigures o) {
    f.config->node_source = source;
    return build_snapshot(SnapshotInputs{f.nodes, f.reports, f.pending, t0, std::move(o)}, f.config, 1);
  };

  SECTION("auto: agents where fresh, the aggregator's figures for n4") {
    const auto s = build(NodeSource::automatic, figures);
    const auto m = parse_metrics(render_snapshot_metrics(*s));
    // cpu 2.5 + 7 + 1 (agents) + 1.5 (n4, own) = 12; allocatable 15.92 + 2 = 17.92.
    CHECK(at(m, R"(kube_binpacking_cluster_allocated{resource="cpu"})") == Approx(12).epsilon(0));
    CHECK(at(m, R"(kube_binpacking_cluster_allocatable{resource="cpu"})") == Approx(17.92).epsilon(0));
    CHECK(at(m, R"(kube_binpacking_node_allocated{node="n4",resource="memory"})") == 3221225472.0);
    CHECK(at(m, R"(kube_binpacking_node_daemonset_overhead{node="n4",resource="cpu"})") == Approx(0.1).epsilon(0));
    CHECK(at(m, R"(nodepack_aggregator_nodes{state="fresh"})") == 4);
    CHECK(at(m, R"(nodepack_aggregator_nodes_by_source{source="agent"})") == 3);
    CHECK(at(m, R"(nodepack_aggregator_nodes_by_source{source="api"})") == 1);
    CHECK(at(m, R"(nodepack_aggregator_nodes_by_source{source="none"})") == 0);
    // n4 fits floor((2 - 1.5) / 0.5) = 1 small pod, no big one.
    CHECK(s->nodes[3].fit[0] == 1);
    CHECK(s->nodes[3].source == NodeFigures::api);
    CHECK(s->nodes[3].reason.find("counted from the aggregator's pod watch") == 0);
    CHECK(source_lists(*s).at("api").as_array() == boost::json::array{"n4"});
  }
  SECTION("auto: a stale report gives way to the aggregator's figures") {
    f.reports["n2"] = report("n2", list({{"cpu", "7"}, {"memory", "8Gi"}}), list({}), 20, t0 - std::chrono::minutes(5),
                             t0 - std::chrono::minutes(5));
    const auto s = build(NodeSource::automatic, figures);
    CHECK(s->nodes[1].source == NodeFigures::api);  // n2 has no own pods: counted as empty, not skipped
    CHECK(s->nodes[1].usable);
    CHECK(s->nodes[1].allocated[0] == Quantity());
  }
  SECTION("auto without usable own figures is agents") {
    OwnFigures unusable = figures;
    unusable.usable = false;
    unusable.reason = "pod watch not synced yet";
    const auto m = parse_metrics(render_snapshot_metrics(*build(NodeSource::automatic, unusable)));
    CHECK(at(m, R"(kube_binpacking_cluster_allocated{resource="cpu"})") == Approx(10.5).epsilon(0));
    CHECK(at(m, R"(nodepack_aggregator_nodes_by_source{source="none"})") == 1);
    CHECK(at(m, R"(nodepack_aggregator_nodes{state="missing"})") == 1);
  }
  SECTION("api: every node from the aggregator's figures, reports ignored") {
    const auto m = parse_metrics(render_snapshot_metrics(*build(NodeSource::api, figures)));
    // cpu 2.5 (n1) + 0 (n2, n3: no own pods) + 1.5 (n4) = 4.
    CHECK(at(m, R"(kube_binpacking_cluster_allocated{resource="cpu"})") == Approx(4).epsilon(0));
    CHECK(at(m, R"(kube_binpacking_cluster_allocatable{resource="cpu"})") == Approx(17.92).epsilon(0));
    CHECK(at(m, R"(nodepack_aggregator_nodes_by_source{source="api"})") == 4);
    CHECK(at(m, R"(kube_binpacking_node_allocated{node="n2",resource="cpu"})") == 0);
  }
  SECTION("api before the pod watch syncs: nothing summed, every node missing with the reason") {
    OwnFigures unusable;
    unusable.reason = "pod watch not synced yet";
    const auto s = build(NodeSource::api, unusable);
    CHECK(s->state_counts[static_cast<std::size_t>(Freshness::missing)] == 4);
    CHECK(s->cluster.reporting_nodes == 0);
    CHECK(s->nodes[0].reason == "the aggregator's pod watch: pod watch not synced yet");
  }
}

TEST_CASE("snapshots are rendered before they are published while scrapes ask for them, and only then") {
  using std::chrono::seconds;
  Fixture f;
  const PublishedSnapshot::SteadyTime t{seconds(1000)};
  const auto window = seconds(30);
  PublishedSnapshot first(f.build());
  PublishedSnapshot::render_ahead({}, first, t, window);  // the first of all
  CHECK_FALSE(first.text_rendered());

  // Nobody scraped `first`: nothing is rendered ahead of time for the next.
  PublishedSnapshot second(f.build());
  PublishedSnapshot::render_ahead(first.asked(), second, t, window);
  CHECK_FALSE(second.text_rendered());

  // A plain scrape of `second`: the next has its text ready, and not the compressed form.
  CHECK(second.scraped_text(t) == render_snapshot_metrics(second.snapshot()));
  PublishedSnapshot third(f.build());
  PublishedSnapshot::render_ahead(second.asked(), third, t + seconds(5), window);
  CHECK(third.text_rendered());
  CHECK_FALSE(third.deflated_rendered());

  // A snapshot published between two scrapes does not end it: the next one is rendered too.
  PublishedSnapshot fourth(f.build());
  PublishedSnapshot::render_ahead(third.asked(), fourth, t + seconds(10), window);
  CHECK(fourth.text_rendered());

  // A compressed scrape (as Prometheus asks): the next has both.
  fourth.scraped_deflated(t + seconds(12));
  PublishedSnapshot fifth(f.build());
  PublishedSnapshot::render_ahead(fourth.asked(), fifth, t + seconds(15), window);
  CHECK(fifth.deflated_rendered());
  CHECK(fifth.text_rendered());
  CHECK(fifth.metrics_text() == render_snapshot_metrics(fifth.snapshot()));

  // No scrape for longer than the window (the scraper went, or this replica stopped leading).
  PublishedSnapshot sixth(f.build());
  PublishedSnapshot::render_ahead(fifth.asked(), sixth, t + seconds(12) + window, window);
  CHECK_FALSE(sixth.text_rendered());
  CHECK_FALSE(sixth.deflated_rendered());
}
