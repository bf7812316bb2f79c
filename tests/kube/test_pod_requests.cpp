// Pod request semantics, checked against numbers derived by hand next to each expectation.
// Units: m = millicores; Mi = 1048576 bytes.

#include "kube/pod.hpp"
#include "kube/pod_requests.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <string>
#include <utility>

using nodepack::kube::compute_pod_requests;
using nodepack::kube::Pod;
using nodepack::kube::PodRequests;
using nodepack::kube::ResizeSemantics;

namespace {

namespace json = boost::json;

// Builds core/v1 Pod JSON the way the API server sends it, then parses it, so every case also
// exercises parse_pod.
class PodBuilder {
 public:
  explicit PodBuilder(std::string name = "web") {
    pod_["metadata"] = json::object{{"name", std::move(name)}, {"namespace", "default"}, {"uid", "uid-1"}};
    pod_["spec"] = json::object{{"nodeName", "node-a"}, {"containers", json::array{}}};
    pod_["status"] = json::object{{"phase", "Running"}};
  }

  PodBuilder& container(std::string name, json::object requests = {}) {
    spec()["containers"].as_array().push_back(make_container(std::move(name), std::move(requests)));
    return *this;
  }
  PodBuilder& init(std::string name, json::object requests = {}) {
    init_containers().push_back(make_container(std::move(name), std::move(requests)));
    return *this;
  }
  PodBuilder& sidecar(std::string name, json::object requests = {}) {
    json::object c = make_container(std::move(name), std::move(requests));
    c["restartPolicy"] = "Always";
    init_containers().push_back(std::move(c));
    return *this;
  }
  PodBuilder& overhead(json::object list) {
    spec()["overhead"] = std::move(list);
    return *this;
  }
  PodBuilder& pod_level(json::object requests) {
    spec()["resources"] = json::object{{"requests", std::move(requests)}};
    return *this;
  }
  // A container status. `actuated` becomes status.resources.requests; leaving both resources
  // out models a kubelet without in-place resize (no status.resources object at all).
  PodBuilder& status(std::string name, json::object allocated, json::object actuated, bool has_resources = true,
                     bool for_init = false) {
    json::object s{{"name", std::move(name)}, {"restartCount", 0}};
    if (!allocated.empty()) {
      s["allocatedResources"] = std::move(allocated);
    }
    if (has_resources) {
      s["resources"] = json::object{{"requests", std::move(actuated)}};
    }
    const char* key = for_init ? "initContainerStatuses" : "containerStatuses";
    auto& st = pod_["status"].as_object();
    if (!st.contains(key)) {
      st[key] = json::array{};
    }
    st[key].as_array().push_back(std::move(s));
    return *this;
  }
  PodBuilder& infeasible() {
    pod_["status"].as_object()["conditions"] =
        json::array{json::object{{"type", "PodResizePending"}, {"status", "True"}, {"reason", "Infeasible"}}};
    return *this;
  }
  PodBuilder& phase(std::string p) {
    pod_["status"].as_object()["phase"] = std::move(p);
    return *this;
  }
  PodBuilder& terminating() {
    pod_["metadata"].as_object()["deletionTimestamp"] = "2025-01-01T00:00:00Z";
    return *this;
  }

  Pod build() const {
    auto parsed = nodepack::kube::parse_pod(pod_);
    INFO(json::serialize(pod_));
    REQUIRE(parsed.has_value());
    return *parsed;
  }
  PodRequests requests(ResizeSemantics semantics = ResizeSemantics::per_container) const {
    return compute_pod_requests(build(), semantics);
  }

 private:
  static json::object make_container(std::string name, json::object requests) {
    json::object c{{"name", std::move(name)}, {"image", "registry.example/app:1"}};
    if (!requests.empty()) {
      c["resources"] = json::object{{"requests", std::move(requests)}};
    }
    return c;
  }
  json::object& spec() { return pod_["spec"].as_object(); }
  json::array& init_containers() {
    if (!spec().contains("initContainers")) {
      spec()["initContainers"] = json::array{};
    }
    return spec()["initContainers"].as_array();
  }

  json::object pod_;
};

std::int64_t milli(const PodRequests& r) { return r.requests.at("cpu").milli_value_ceil(); }
std::int64_t units(const PodRequests& r, const std::string& resource) { return r.requests.at(resource).value_ceil(); }
std::int64_t bytes(const PodRequests& r) { return units(r, "memory"); }

constexpr std::int64_t Mi = 1'048'576;
constexpr std::int64_t Gi = 1'073'741'824;

bool has_reason(const PodRequests& r, const std::string& needle) {
  for (const std::string& line : r.reasons) {
    if (line.find(needle) != std::string::npos) {
      return true;
    }
  }
  return false;
}

std::string all_reasons(const PodRequests& r) {
  std::string out;
  for (const std::string& line : r.reasons) {
    out += "\n  " + line;
  }
  return out;
}

}  // namespace

TEST_CASE("plain pod: one container", "[pod_requests]") {
  auto r = PodBuilder().container("app", {{"cpu", "100m"}, {"memory", "128Mi"}}).requests();
  CHECK(milli(r) == 100);       // 100m
  CHECK(bytes(r) == 128 * Mi);  // 128 * 1048576 = 134217728
  CHECK(r.requests.size() == 2);
  CHECK(has_reason(r, "sum of 1 container"));
}

TEST_CASE("regular containers are summed", "[pod_requests]") {
  auto r = PodBuilder()
               .container("a", {{"cpu", "250m"}, {"memory", "64Mi"}})
               .container("b", {{"cpu", "500m"}, {"memory", "128Mi"}})
               .container("c", {{"cpu", "1"}})
               .requests();
  CHECK(milli(r) == 1750);      // 250 + 500 + 1000
  CHECK(bytes(r) == 192 * Mi);  // 64Mi + 128Mi = 201326592
  CHECK(has_reason(r, "sum of 3 containers"));
}

TEST_CASE("an init container larger than the sum decides that resource only", "[pod_requests]") {
  auto r = PodBuilder()
               .container("a", {{"cpu", "100m"}, {"memory", "100Mi"}})
               .container("b", {{"cpu", "200m"}, {"memory", "200Mi"}})
               .init("setup", {{"cpu", "500m"}, {"memory", "100Mi"}})
               .requests();
  CHECK(milli(r) == 500);       // sum 300m < init 500m -> 500m
  CHECK(bytes(r) == 300 * Mi);  // sum 300Mi > init 100Mi -> 300Mi
  INFO("reasons:" << all_reasons(r));
  CHECK(has_reason(r, "init container 'setup' dominates cpu"));
  CHECK_FALSE(has_reason(r, "memory"));
}

TEST_CASE("an init container smaller than the sum changes nothing", "[pod_requests]") {
  auto r = PodBuilder()
               .container("a", {{"cpu", "100m"}})
               .container("b", {{"cpu", "200m"}})
               .init("setup", {{"cpu", "150m"}})
               .requests();
  CHECK(milli(r) == 300);  // max(100 + 200, 150) = 300
  CHECK_FALSE(has_reason(r, "dominates"));
}

TEST_CASE("a sidecar declared before a regular init container runs beside it", "[pod_requests]") {
  auto r = PodBuilder()
               .container("app", {{"cpu", "400m"}})
               .sidecar("proxy", {{"cpu", "200m"}})
               .init("migrate", {{"cpu", "500m"}})
               .requests();
  // sum = app 400 + proxy 200 = 600; migrate runs beside proxy: 500 + 200 = 700 -> 700m
  CHECK(milli(r) == 700);
  CHECK(has_reason(r, "init container 'migrate' (plus 1 earlier sidecar) dominates cpu"));
  CHECK(has_reason(r, "sidecar 'proxy' added"));
}

TEST_CASE("a sidecar declared after a regular init container does not run beside it", "[pod_requests]") {
  auto r = PodBuilder()
               .container("app", {{"cpu", "400m"}})
               .init("migrate", {{"cpu", "500m"}})
               .sidecar("proxy", {{"cpu", "200m"}})
               .requests();
  // sum = 400 + 200 = 600; migrate alone = 500 -> max(600, 500) = 600m (700m in the other order)
  CHECK(milli(r) == 600);
  CHECK_FALSE(has_reason(r, "dominates"));
}

TEST_CASE("several sidecars accumulate before a regular init container", "[pod_requests]") {
  auto r = PodBuilder()
               .container("app", {{"cpu", "100m"}, {"memory", "10Mi"}})
               .sidecar("a", {{"cpu", "100m"}, {"memory", "20Mi"}})
               .sidecar("b", {{"cpu", "200m"}, {"memory", "30Mi"}})
               .init("x", {{"cpu", "250m"}, {"memory", "40Mi"}})
               .sidecar("c", {{"cpu", "50m"}, {"memory", "5Mi"}})
               .requests();
  // cpu: sum = 100 + 100 + 200 + 50 = 450; x = 250 + (100 + 200) = 550 -> 550m
  CHECK(milli(r) == 550);
  // memory: sum = 10 + 20 + 30 + 5 = 65Mi; x = 40 + (20 + 30) = 90Mi -> 90Mi
  CHECK(bytes(r) == 90 * Mi);
  CHECK(has_reason(r, "init container 'x' (plus 2 earlier sidecars) dominates cpu,memory"));
}

TEST_CASE("sidecars without regular init containers just add to the sum", "[pod_requests]") {
  auto r =
      PodBuilder().container("app", {{"cpu", "100m"}}).sidecar("log", {{"cpu", "50m"}, {"memory", "32Mi"}}).requests();
  CHECK(milli(r) == 150);      // 100 + 50
  CHECK(bytes(r) == 32 * Mi);  // only the sidecar names memory
}

TEST_CASE("overhead is added once at the end", "[pod_requests]") {
  auto r = PodBuilder()
               .container("app", {{"cpu", "100m"}, {"memory", "100Mi"}})
               .init("setup", {{"cpu", "300m"}})
               .overhead({{"cpu", "250m"}, {"memory", "120Mi"}})
               .requests();
  CHECK(milli(r) == 550);       // max(100, init 300) = 300, + overhead 250 = 550
  CHECK(bytes(r) == 220 * Mi);  // 100Mi + 120Mi = 230686720
  CHECK(has_reason(r, "overhead added"));
}

TEST_CASE("pod-level cpu replaces only cpu", "[pod_requests]") {
  auto r = PodBuilder()
               .container("a", {{"cpu", "100m"}, {"memory", "100Mi"}})
               .container("b", {{"cpu", "200m"}, {"memory", "100Mi"}})
               .pod_level({{"cpu", "1"}})
               .requests();
  CHECK(milli(r) == 1000);      // pod-level 1 replaces 300m
  CHECK(bytes(r) == 200 * Mi);  // containers: 100Mi + 100Mi
  CHECK(has_reason(r, "pod-level resources replace cpu"));
}

TEST_CASE("pod-level memory replaces only memory", "[pod_requests]") {
  auto r = PodBuilder()
               .container("a", {{"cpu", "100m"}, {"memory", "100Mi"}})
               .container("b", {{"cpu", "200m"}, {"memory", "100Mi"}})
               .pod_level({{"memory", "1Gi"}})
               .requests();
  CHECK(milli(r) == 300);  // containers: 100 + 200
  CHECK(bytes(r) == Gi);   // pod-level 1Gi replaces 200Mi
  CHECK(has_reason(r, "pod-level resources replace memory"));
}

TEST_CASE("pod-level hugepages replace, unsupported resources are ignored", "[pod_requests]") {
  auto r = PodBuilder()
               .container("app", {{"cpu", "100m"}, {"hugepages-2Mi", "2Mi"}, {"nvidia.com/gpu", "2"}})
               .pod_level({{"cpu", "2"}, {"hugepages-2Mi", "4Mi"}, {"nvidia.com/gpu", "1"}})
               .requests();
  CHECK(milli(r) == 2000);                     // pod-level 2
  CHECK(units(r, "hugepages-2Mi") == 4 * Mi);  // pod-level 4Mi = 4194304
  CHECK(units(r, "nvidia.com/gpu") == 2);      // not supported at pod level: containers' 2
  CHECK(has_reason(r, "pod-level resources replace cpu,hugepages-2Mi"));
  CHECK(has_reason(r, "not supported for nvidia.com/gpu"));
}

TEST_CASE("pod-level resources plus overhead", "[pod_requests]") {
  auto r = PodBuilder()
               .container("app", {{"cpu", "100m"}, {"memory", "100Mi"}})
               .pod_level({{"cpu", "1"}, {"memory", "1Gi"}})
               .overhead({{"cpu", "100m"}, {"memory", "64Mi"}})
               .requests();
  CHECK(milli(r) == 1100);          // pod-level 1000 + overhead 100
  CHECK(bytes(r) == Gi + 64 * Mi);  // 1073741824 + 67108864 = 1140850688
  CHECK(r.reasons.back().find("overhead added") != std::string::npos);
}

TEST_CASE("in-place resize up: allocated above spec wins", "[pod_requests]") {
  // The kubelet already runs the container at 500m; the spec still says 250m.
  auto r = PodBuilder()
               .container("app", {{"cpu", "250m"}, {"memory", "128Mi"}})
               .status("app", {{"cpu", "500m"}, {"memory", "128Mi"}}, {{"cpu", "500m"}, {"memory", "128Mi"}})
               .requests();
  CHECK(milli(r) == 500);       // max(spec 250, allocated 500, actuated 500)
  CHECK(bytes(r) == 128 * Mi);  // all three agree
  CHECK(has_reason(r, "in-place resize: allocated 500m > spec 250m for 'app' cpu"));
}

TEST_CASE("in-place resize pending up: spec above status wins", "[pod_requests]") {
  auto r = PodBuilder().container("app", {{"cpu", "1"}}).status("app", {{"cpu", "500m"}}, {{"cpu", "500m"}}).requests();
  CHECK(milli(r) == 1000);  // max(spec 1000, 500, 500)
  CHECK_FALSE(has_reason(r, "in-place resize"));
}

TEST_CASE("in-place resize down: actuated lagging above spec and allocation wins", "[pod_requests]") {
  auto r =
      PodBuilder().container("app", {{"cpu", "250m"}}).status("app", {{"cpu", "250m"}}, {{"cpu", "500m"}}).requests();
  CHECK(milli(r) == 500);  // max(spec 250, allocated 250, actuated 500)
  CHECK(has_reason(r, "in-place resize: actuated 500m > spec 250m for 'app' cpu"));
}

TEST_CASE("without a status.resources object, per-container uses the spec", "[pod_requests]") {
  PodBuilder b;
  b.container("app", {{"cpu", "250m"}}).status("app", {{"cpu", "500m"}}, {}, /*has_resources=*/false);
  CHECK(milli(b.requests(ResizeSemantics::per_container)) == 250);  // status ignored without resources
  CHECK(milli(b.requests(ResizeSemantics::max_of_sums)) == 500);    // allocated sum 500 > spec sum 250
}

TEST_CASE("a resized sidecar is read from initContainerStatuses", "[pod_requests]") {
  auto r = PodBuilder()
               .container("app", {{"cpu", "100m"}})
               .sidecar("proxy", {{"cpu", "100m"}})
               .status("proxy", {{"cpu", "300m"}}, {{"cpu", "300m"}}, true, /*for_init=*/true)
               .requests();
  CHECK(milli(r) == 400);  // app 100 + proxy max(100, 300, 300) = 400
  CHECK(has_reason(r, "allocated 300m > spec 100m for 'proxy' cpu"));
}

TEST_CASE("resize infeasible: the spec is ignored", "[pod_requests]") {
  PodBuilder b;
  b.container("app", {{"cpu", "4"}, {"memory", "1Gi"}})
      .status("app", {{"cpu", "1"}, {"memory", "512Mi"}}, {{"cpu", "1"}, {"memory", "512Mi"}});
  auto feasible = b.requests();
  CHECK(milli(feasible) == 4000);  // pending resize: max(spec 4000, 1000, 1000)
  CHECK(bytes(feasible) == Gi);

  b.infeasible();
  auto r = b.requests();
  CHECK(milli(r) == 1000);      // spec dropped: max(allocated 1000, actuated 1000)
  CHECK(bytes(r) == 512 * Mi);  // 536870912
  CHECK(has_reason(r, "resize infeasible: spec ignored for 'app'"));

  auto sums = b.requests(ResizeSemantics::max_of_sums);
  CHECK(milli(sums) == 1000);  // max(allocated sum 1000, actuated sum 1000)
  CHECK(has_reason(sums, "resize infeasible: spec ignored"));
}

TEST_CASE("max-of-sums differs from per-container when containers resize in opposite directions", "[pod_requests]") {
  // a shrinks 1 -> 500m while b grows 500m -> 1: the kubelet swaps capacity between them.
  PodBuilder b;
  b.container("a", {{"cpu", "500m"}})
      .container("b", {{"cpu", "1"}})
      .status("a", {{"cpu", "1"}}, {{"cpu", "1"}})
      .status("b", {{"cpu", "500m"}}, {{"cpu", "500m"}});
  // per-container: max(500, 1000) + max(1000, 500) = 1000 + 1000 = 2000m
  auto per = b.requests(ResizeSemantics::per_container);
  CHECK(milli(per) == 2000);
  // max-of-sums: spec 500 + 1000 = 1500; allocated 1000 + 500 = 1500; actuated 1500 -> 1500m
  auto sums = b.requests(ResizeSemantics::max_of_sums);
  CHECK(milli(sums) == 1500);
  CHECK_FALSE(has_reason(sums, "in-place resize"));

  // And when one grows without the other shrinking, max-of-sums names the winning sum.
  PodBuilder grow;
  grow.container("a", {{"cpu", "500m"}}).container("b", {{"cpu", "500m"}}).status("a", {{"cpu", "2"}}, {{"cpu", "2"}});
  auto grown = grow.requests(ResizeSemantics::max_of_sums);
  CHECK(milli(grown) == 2500);  // spec 1000; allocated 2000 + b's spec fallback 500 = 2500
  CHECK(has_reason(grown, "in-place resize (max-of-sums): allocated sum 2500m > spec sum 1 for cpu"));
}

TEST_CASE("only the pod total is rounded", "[pod_requests]") {
  auto r = PodBuilder()
               .container("a", {{"cpu", "333.3m"}, {"memory", "0.5"}})
               .container("b", {{"cpu", "333.3m"}, {"memory", "0.5"}})
               .container("c", {{"cpu", "333.3m"}, {"memory", "0.5"}})
               .requests();
  CHECK(milli(r) == 1000);  // 999.9m -> 1000m (rounding each part first would give 1002m)
  CHECK(bytes(r) == 2);     // 0.5 * 3 = 1.5 bytes -> 2 (each part first would give 3)
  CHECK(r.requests.at("cpu") == nodepack::kube::Quantity::from_milli(1000));
  CHECK(has_reason(r, "rounded up"));

  auto exact = PodBuilder().container("a", {{"cpu", "1500u"}}).requests();
  CHECK(milli(exact) == 2);  // 1.5m -> 2m
}

TEST_CASE("extended resources follow the same rules", "[pod_requests]") {
  auto r = PodBuilder()
               .container("a", {{"nvidia.com/gpu", "1"}})
               .container("b", {{"nvidia.com/gpu", "2"}})
               .init("warmup", {{"nvidia.com/gpu", "4"}})
               .requests();
  CHECK(units(r, "nvidia.com/gpu") == 4);  // max(1 + 2, 4)
  CHECK(r.requests.count("cpu") == 0);     // no defaults are invented
}

TEST_CASE("ephemeral-storage and hugepages are whole bytes", "[pod_requests]") {
  auto r = PodBuilder()
               .container("a", {{"ephemeral-storage", "1Gi"}, {"hugepages-2Mi", "4Mi"}})
               .container("b", {{"ephemeral-storage", "512Mi"}, {"hugepages-2Mi", "2Mi"}})
               .requests();
  CHECK(units(r, "ephemeral-storage") == Gi + 512 * Mi);  // 1610612736
  CHECK(units(r, "hugepages-2Mi") == 6 * Mi);             // 6291456
}

TEST_CASE("a container with no requests adds nothing", "[pod_requests]") {
  auto r = PodBuilder().container("none").container("side", {{"cpu", "100m"}}).requests();
  CHECK(milli(r) == 100);
  CHECK(r.requests.count("memory") == 0);

  auto empty = PodBuilder().container("none").requests();
  CHECK(empty.requests.empty());  // the scheduler's non-zero scoring defaults do not apply to fit
}

TEST_CASE("explicit zero requests are kept as zero", "[pod_requests]") {
  auto r = PodBuilder().container("a", {{"cpu", "0"}, {"memory", "0"}}).requests();
  REQUIRE(r.requests.count("cpu") == 1);
  CHECK(milli(r) == 0);
  CHECK(bytes(r) == 0);
}

TEST_CASE("phases that hold requests on the node", "[pod_requests]") {
  using nodepack::kube::pod_counts_toward_node;
  CHECK(pod_counts_toward_node(PodBuilder().phase("Pending").build()));
  CHECK(pod_counts_toward_node(PodBuilder().phase("Running").build()));
  CHECK(pod_counts_toward_node(PodBuilder().phase("Unknown").build()));
  CHECK_FALSE(pod_counts_toward_node(PodBuilder().phase("Succeeded").build()));
  CHECK_FALSE(pod_counts_toward_node(PodBuilder().phase("Failed").build()));
  Pod terminating = PodBuilder().phase("Running").terminating().build();
  CHECK(terminating.is_terminating());
  CHECK(pod_counts_toward_node(terminating));
}

TEST_CASE("resize semantics flag values", "[pod_requests]") {
  using nodepack::kube::parse_resize_semantics;
  CHECK(parse_resize_semantics("per-container").value() == ResizeSemantics::per_container);
  CHECK(parse_resize_semantics("max-of-sums").value() == ResizeSemantics::max_of_sums);
  auto bad = parse_resize_semantics("max_of_sums");
  REQUIRE_FALSE(bad.has_value());
  CHECK_THAT(bad.error().message, Catch::Contains("\"max_of_sums\""));
  CHECK(nodepack::kube::resize_semantics_name(ResizeSemantics::max_of_sums) == "max-of-sums");
  CHECK(nodepack::kube::resize_semantics_name(ResizeSemantics::per_container) == "per-container");
}
