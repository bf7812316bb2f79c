#include "numa/collector.hpp"
#include "numa/numa_state.hpp"
#include "numa/report.hpp"

#include "tests/support/fake_pods.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/hwloc_fixture.hpp"
#include "tests/support/kubelet_checksum.hpp"

#include <prometheus/text_serializer.h>
#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <map>
#include <sstream>

using namespace nodepack::numa;
using namespace nodepack::numa::test;
using namespace nodepack::testing;
using nodepack::HostPaths;
using nodepack::ManualClock;

namespace {

// The 24-CPU fixture's CPU manager state cut to CPUs 0-15, with the checksum the kubelet would
// store: the fixture itself names CPUs 16-23, which a 16-CPU machine does not have.
std::string cpu_state_16() {
  return with_kubelet_checksum(
      R"({"policyName":"static","defaultCpuSet":"0,2-12,14-15","entries":{"235148fe-393f-47a8-a17d-bd55bc1a836b":{"cgroup1-0":"1,13"}},"checksum":0})",
      [](std::string_view t) { return parse_cpu_manager_state(t); }, "v2");
}

std::vector<std::string> metric_lines(const NumaState& state) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, NumaCollector(state, {}).Collect());
  std::vector<std::string> lines;
  std::istringstream in(out.str());
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  return lines;
}

bool has_line(const std::vector<std::string>& lines, const std::string& line) {
  return std::find(lines.begin(), lines.end(), line) != lines.end();
}

// 16em64t-4s2c2t (one NUMA node, CPUs 0-15, hyperthread pairs) with the kubelet fixtures:
// a pod pinned to the HT pair 1,13, a pod with NUMA-0 memory, and a GPU without affinity.
struct FixtureNode {
  TempDir tmp;
  std::filesystem::path root;
  ManualClock clock;
  FixedPodLookup pods;
  std::unique_ptr<NumaState> state;

  FixtureNode() {
    root = unpack_hwloc_fixture("16em64t-4s2c2t", tmp);
    const auto kubelet = root / "var/lib/kubelet";
    write_file(kubelet / "cpu_manager_state", cpu_state_16());
    write_file(kubelet / "memory_manager_state", kubelet_fixture("memory_manager_state.k8s-unittest.v1.json"));
    write_file(kubelet / "device-plugins/kubelet_internal_checkpoint",
               kubelet_fixture("kubelet_internal_checkpoint.kind-tegra.numa-minus1.json"));
    pods.add("235148fe-393f-47a8-a17d-bd55bc1a836b", {"default", "pinned", {}, true});
    pods.add("pod", {"kube-system", "mem", {}, std::nullopt});
    NumaOptions opts;
    opts.paths = HostPaths::under(root);
    opts.node_name = "fixture-node";
    opts.reserved_cpus = CpuSet{0, 8};
    state = std::make_unique<NumaState>(opts, clock, &pods);
    REQUIRE(state->load_topology().has_value());
    state->refresh();
  }
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    out.push_back(line);
  }
  return out;
}

}  // namespace

TEST_CASE("allocation model for the fixture node") {
  FixtureNode f;
  const auto snap = f.state->snapshot();
  const auto& m = snap->model;
  CHECK(m.cpu_policy == "static");
  CHECK(m.memory_policy == "static");
  REQUIRE(m.nodes.size() == 1);
  const auto& n = m.nodes[0];
  CHECK(n.capacity_cpus.to_string() == "0-15");
  CHECK(n.reserved_cpus.to_string() == "0,8");
  CHECK(n.allocatable_cpus.size() == 14);
  CHECK(n.exclusive_cpus == CpuSet{1, 13});
  CHECK(n.shared_pool.to_string() == "0,2-12,14-15");
  CHECK(n.notes.empty());  // the kubelet's defaultCpuSet agrees on this node
  CHECK(n.memory.allocatable == 1536);
  CHECK(n.memory.allocation == 512);
  CHECK(n.memory.capacity == snap->topology->nodes[0].memory_bytes);
  CHECK(n.devices_allocated.empty());
  CHECK(m.devices_without_affinity.at("nvidia.com/gpu") == 1);
  CHECK(m.devices_registered.at("nvidia.com/gpu") == 1);

  REQUIRE(m.containers.size() == 3);
  const auto& pinned = m.containers[0];
  CHECK(pinned.pod_uid == "235148fe-393f-47a8-a17d-bd55bc1a836b");
  CHECK(pinned.container == "cgroup1-0");
  REQUIRE(pinned.pod.has_value());
  CHECK(pinned.pod->name == "pinned");
  CHECK(pinned.guaranteed);
  CHECK(pinned.aligned);
  CHECK(pinned.numa_nodes == std::set<std::int64_t>{0});

  const auto& gpu = m.containers[1];
  CHECK(gpu.pod_uid == "bf52b2cd-b611-4e79-86b1-280b283185c3");
  CHECK(gpu.orphaned);
  CHECK_FALSE(gpu.pod.has_value());
  CHECK(gpu.devices.size() == 1);
  CHECK(gpu.devices[0].numa_nodes == std::set<std::int64_t>{no_numa_affinity});
  CHECK(gpu.numa_nodes.empty());
  CHECK_FALSE(gpu.aligned);

  const auto& mem = m.containers[2];
  CHECK(mem.pod_uid == "pod");
  CHECK(mem.guaranteed);  // inferred: only Guaranteed pods get pinned memory
  CHECK(mem.aligned);
  CHECK(m.orphaned_containers == 1);
}

TEST_CASE("metrics text for the fixture node") {
  FixtureNode f;
  NumaCollector collector(*f.state, VersionInfo{"main", "gcc-12", "v1.30.0", "abc123", "1"});
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, collector.Collect());
  const auto mem = std::to_string(f.state->snapshot()->topology->nodes[0].memory_bytes);
  const auto last_read =
      std::to_string(std::chrono::duration_cast<std::chrono::seconds>(f.clock.now().time_since_epoch()).count());
  std::vector<std::string> expected = {
      "# HELP numainfo_checkpoint_errors_total Kubelet checkpoint file reads that failed or did not verify, by reason, "
      "counted once per file content.",
      "# TYPE numainfo_checkpoint_errors_total counter",
  };
  for (const char* file : {"cpu_manager_state", "memory_manager_state", "kubelet_internal_checkpoint"}) {
    for (const char* reason :
         {"checksum_mismatch", "invalid_cpuset", "oversized", "parse_error", "read_error", "unknown_layout"}) {
      expected.push_back(std::string("numainfo_checkpoint_errors_total{file=\"") + file +
                         "\",node=\"fixture-node\",reason=\"" + reason + "\"} 0");
    }
  }
  const std::vector<std::string> rest = {
      "# HELP numainfo_checkpoint_last_read_timestamp_seconds When the kubelet checkpoint file was last read, seconds "
      "since the Unix epoch.",
      "# TYPE numainfo_checkpoint_last_read_timestamp_seconds gauge",
      "numainfo_checkpoint_last_read_timestamp_seconds{file=\"cpu_manager_state\",node=\"fixture-node\"} " + last_read,
      "numainfo_checkpoint_last_read_timestamp_seconds{file=\"memory_manager_state\",node=\"fixture-node\"} " +
          last_read,
      "numainfo_checkpoint_last_read_timestamp_seconds{file=\"kubelet_internal_checkpoint\",node=\"fixture-node\"} " +
          last_read,
      "# HELP numainfo_checkpoint_valid Whether the kubelet checkpoint file parsed and its checksum did not contradict "
      "it (1) or not (0).",
      "# TYPE numainfo_checkpoint_valid gauge",
      "numainfo_checkpoint_valid{file=\"cpu_manager_state\",node=\"fixture-node\"} 1",
      "numainfo_checkpoint_valid{file=\"memory_manager_state\",node=\"fixture-node\"} 1",
      "numainfo_checkpoint_valid{file=\"kubelet_internal_checkpoint\",node=\"fixture-node\"} 1",
      "# HELP numainfo_container_aligned Whether a Guaranteed container's CPUs, memory and devices are all on one NUMA "
      "node (1) or not (0).",
      "# TYPE numainfo_container_aligned gauge",
      "numainfo_container_aligned{container=\"cgroup1-0\",namespace=\"default\",node=\"fixture-node\",pod=\"pinned\"} "
      "1",
      "numainfo_container_aligned{container=\"container1\",namespace=\"kube-system\",node=\"fixture-node\",pod=\"mem\"}"
      " 1",
      "# HELP numainfo_core_count CPU cores per NUMA node, count.",
      "# TYPE numainfo_core_count gauge",
      "numainfo_core_count{node=\"fixture-node\",numanode=\"node00\",type=\"allocatable\"} 14",
      "numainfo_core_count{node=\"fixture-node\",numanode=\"node00\",type=\"allocation\"} 2",
      "numainfo_core_count{node=\"fixture-node\",numanode=\"node00\",type=\"capacity\"} 16",
      "# HELP numainfo_device_count Devices per NUMA node and resource by type (allocatable, allocation; registered "
      "with numanode=\"any\"; numanode=\"none\" when the device has no NUMA affinity), count.",
      "# TYPE numainfo_device_count gauge",
      // The Tegra's device is registered, but no PCI device: allocatable on no NUMA node.
      "numainfo_device_count{node=\"fixture-node\",numanode=\"node00\",resource=\"nvidia.com/gpu\",type="
      "\"allocatable\"} 0",
      "numainfo_device_count{node=\"fixture-node\",numanode=\"none\",resource=\"nvidia.com/gpu\",type="
      "\"allocatable\"} 1",
      "numainfo_device_count{node=\"fixture-node\",numanode=\"none\",resource=\"nvidia.com/gpu\",type=\"allocation\"} "
      "1",
      "numainfo_device_count{node=\"fixture-node\",numanode=\"any\",resource=\"nvidia.com/gpu\",type=\"registered\"} 1",
      "# HELP numainfo_distance NUMA distance from numanode to the node in \"to\" (the kernel's SLIT, 10 = local).",
      "# TYPE numainfo_distance gauge",
      "numainfo_distance{node=\"fixture-node\",numanode=\"node00\",to=\"node00\"} 10",
      "# HELP numainfo_hugepages_bytes Hugepages per NUMA node and page size by type (capacity, allocatable, "
      "allocation, free), bytes.",
      "# TYPE numainfo_hugepages_bytes gauge",
      "# HELP numainfo_memory_bytes Memory per NUMA node by type (capacity, allocatable, allocation), bytes.",
      "# TYPE numainfo_memory_bytes gauge",
      "numainfo_memory_bytes{node=\"fixture-node\",numanode=\"node00\",type=\"allocatable\"} 1536",
      "numainfo_memory_bytes{node=\"fixture-node\",numanode=\"node00\",type=\"allocation\"} 512",
      "numainfo_memory_bytes{node=\"fixture-node\",numanode=\"node00\",type=\"capacity\"} " + mem,
      "# HELP numainfo_node_count NUMA nodes per node, count.",
      "# TYPE numainfo_node_count gauge",
      "numainfo_node_count{node=\"fixture-node\"} 1",
      "# HELP numainfo_node_info NUMA nodes as the kubelet sees them: whether the node has CPUs and the kind of memory "
      "it holds (dram, hbm, nvm, cxl, gpu, none, unknown); always 1.",
      "# TYPE numainfo_node_info gauge",
      "numainfo_node_info{has_cpus=\"true\",memory_kind=\"dram\",node=\"fixture-node\",numanode=\"node00\"} 1",
      "# HELP numainfo_orphaned_containers Containers in the kubelet's checkpoints whose pod is not bound to this "
      "node, count.",
      "# TYPE numainfo_orphaned_containers gauge",
      "numainfo_orphaned_containers{node=\"fixture-node\"} 1",
      // No PCI devices in this dump, and pod-resources not asked: the families are there, empty.
      "# HELP numainfo_pci_device_count PCI devices per NUMA node and class that no device-plugin resource hands out, "
      "count.",
      "# TYPE numainfo_pci_device_count gauge",
      // numainfo_exporter's name for the device count: the same samples.
      "# HELP numainfo_pcidevice_count PCI device resources per NUMA node, count (the same as "
      "numainfo_device_count).",
      "# TYPE numainfo_pcidevice_count gauge",
      "numainfo_pcidevice_count{node=\"fixture-node\",numanode=\"node00\",resource=\"nvidia.com/gpu\",type="
      "\"allocatable\"} 0",
      "numainfo_pcidevice_count{node=\"fixture-node\",numanode=\"none\",resource=\"nvidia.com/gpu\",type="
      "\"allocatable\"} 1",
      "numainfo_pcidevice_count{node=\"fixture-node\",numanode=\"none\",resource=\"nvidia.com/gpu\",type="
      "\"allocation\"} 1",
      "numainfo_pcidevice_count{node=\"fixture-node\",numanode=\"any\",resource=\"nvidia.com/gpu\",type="
      "\"registered\"} 1",
      "# HELP numainfo_podresources_errors_total Pod-resources polls that failed, by reason.",
      "# TYPE numainfo_podresources_errors_total counter",
      "# HELP numainfo_podresources_last_success_timestamp_seconds When pod-resources last answered, seconds since "
      "the Unix epoch.",
      "# TYPE numainfo_podresources_last_success_timestamp_seconds gauge",
      "# HELP numainfo_podresources_up Whether the kubelet's pod-resources API answered the last poll (1) or not (0).",
      "# TYPE numainfo_podresources_up gauge",
      "# HELP numainfo_shared_pool_core_count Logical CPUs per NUMA node in the shared pool (capacity minus "
      "exclusively assigned), count.",
      "# TYPE numainfo_shared_pool_core_count gauge",
      "numainfo_shared_pool_core_count{node=\"fixture-node\",numanode=\"node00\"} 14",
      "# HELP numainfo_source_mismatch NUMA nodes (or groups of nodes a memory block spans) on which the kubelet's "
      "pod-resources API and its checkpoint files disagree, by resource; present only when both were compared.",
      "# TYPE numainfo_source_mismatch gauge",
      "# HELP numainfo_value_source Where the per-NUMA numbers of a resource (cpu, memory, hugepages, devices) and "
      "type (allocatable, allocation) come from: podresources, checkpoint, capacity or none; always 1.",
      "# TYPE numainfo_value_source gauge",
      "numainfo_value_source{node=\"fixture-node\",resource=\"cpu\",source=\"capacity\",type=\"allocatable\"} 1",
      "numainfo_value_source{node=\"fixture-node\",resource=\"cpu\",source=\"checkpoint\",type=\"allocation\"} 1",
      "numainfo_value_source{node=\"fixture-node\",resource=\"devices\",source=\"checkpoint\",type="
      "\"allocatable\"} 1",
      "numainfo_value_source{node=\"fixture-node\",resource=\"devices\",source=\"checkpoint\",type=\"allocation\"} "
      "1",
      "numainfo_value_source{node=\"fixture-node\",resource=\"hugepages\",source=\"checkpoint\",type="
      "\"allocatable\"} 1",
      "numainfo_value_source{node=\"fixture-node\",resource=\"hugepages\",source=\"checkpoint\",type="
      "\"allocation\"} 1",
      "numainfo_value_source{node=\"fixture-node\",resource=\"memory\",source=\"checkpoint\",type="
      "\"allocatable\"} 1",
      "numainfo_value_source{node=\"fixture-node\",resource=\"memory\",source=\"checkpoint\",type="
      "\"allocation\"} 1",
      "# HELP numainfo_version Version information",
      "# TYPE numainfo_version gauge",
      "numainfo_version{branch=\"main\",compiler=\"gcc-12\",kubeversion=\"v1.30.0\",revision=\"abc123\",version=\"1\"} "
      "1",
  };
  expected.insert(expected.end(), rest.begin(), rest.end());
  CHECK(lines_of(out.str()) == expected);
}

TEST_CASE("allocation is 0, never missing, with the none policy and no files") {
  TempDir tmp;
  const auto root = unpack_hwloc_fixture("16amd64-8n2c", tmp);
  ManualClock clock;
  NumaOptions opts;
  opts.paths = HostPaths::under(root);
  opts.node_name = "kind-worker";
  NumaState state(opts, clock);
  REQUIRE(state.load_topology().has_value());
  state.refresh();
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, NumaCollector(state, {}).Collect());
  const auto lines = lines_of(out.str());
  auto has = [&](const std::string& l) { return std::find(lines.begin(), lines.end(), l) != lines.end(); };
  CHECK(has("numainfo_node_count{node=\"kind-worker\"} 8"));
  CHECK(has("numainfo_core_count{node=\"kind-worker\",numanode=\"node07\",type=\"allocation\"} 0"));
  CHECK(has("numainfo_core_count{node=\"kind-worker\",numanode=\"node07\",type=\"capacity\"} 2"));
  CHECK(has("numainfo_checkpoint_valid{file=\"cpu_manager_state\",node=\"kind-worker\"} 0"));
  CHECK(state.snapshot()->model.cpu_policy == "none");
  CHECK(state.snapshot()->files[0].status == FileStatus::missing);
}

TEST_CASE("zones and debug JSON") {
  FixtureNode f;
  const auto snap = f.state->snapshot();
  const auto zones = numa_zones_json(*snap);
  REQUIRE(zones.size() == 1);
  const auto& z = zones[0].as_object();
  CHECK(z.at("id").to_number<int>() == 0);
  CHECK(z.at("name").as_string() == "node00");
  const auto& cpu = z.at("resources").at("cpu").as_object();
  CHECK(cpu.at("capacity").to_number<int>() == 16);
  CHECK(cpu.at("allocatable").to_number<int>() == 14);
  CHECK(cpu.at("allocation").to_number<int>() == 2);
  CHECK(z.at("resources").at("memory").at("allocation").to_number<int>() == 512);

  const auto debug = numa_debug_json(*snap);
  CHECK(debug.at("node").as_string() == "fixture-node");
  CHECK(debug.at("cpu_policy").as_string() == "static");
  const auto& files = debug.at("files").as_array();
  REQUIRE(files.size() == 3);
  CHECK(files[0].at("status").as_string() == "valid");
  CHECK(files[0].at("checksum").as_string() == "verified");
  CHECK(files[0].at("layout").as_string() == "v2");
  const auto& containers = debug.at("containers").as_array();
  REQUIRE(containers.size() == 3);
  CHECK(containers[1].at("pod").as_string() == "orphaned");
  CHECK(containers[0].at("cpus").as_string() == "1,13");
  CHECK(debug.at("topology").at("nodes").as_array().size() == 1);
}

TEST_CASE("a bad replacement shows in the snapshot and the model keeps the last good state") {
  FixtureNode f;
  const auto path = f.root / "var/lib/kubelet/cpu_manager_state";
  write_file(path.parent_path() / "tmp", "{\"policyName\":\"static\",");
  std::filesystem::rename(path.parent_path() / "tmp", path);
  f.state->refresh();
  const auto snap = f.state->snapshot();
  CHECK(snap->files[0].status == FileStatus::invalid);
  CHECK(snap->files[0].serving_last_good);
  CHECK(snap->model.nodes[0].exclusive_cpus == CpuSet{1, 13});
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, NumaCollector(*f.state, {}).Collect());
  const auto lines = lines_of(out.str());
  CHECK(std::find(lines.begin(), lines.end(),
                  "numainfo_checkpoint_errors_total{file=\"cpu_manager_state\",node=\"fixture-node\",reason=\"parse_"
                  "error\"} 1") != lines.end());
  CHECK(std::find(lines.begin(), lines.end(),
                  "numainfo_checkpoint_valid{file=\"cpu_manager_state\",node=\"fixture-node\"} 0") != lines.end());
}

TEST_CASE("a checksum mismatch is not used, and the debug page, the metric and the numbers agree") {
  FixtureNode f;
  const auto path = f.root / "var/lib/kubelet/cpu_manager_state";
  // The pinned container moved to 1,12, but the stored checksum is still the old content's.
  std::string tampered = cpu_state_16();
  tampered.replace(tampered.find("\"1,13\""), 6, "\"1,12\"");
  write_file(path.parent_path() / "tmp", tampered);
  std::filesystem::rename(path.parent_path() / "tmp", path);
  f.state->refresh();
  const auto snap = f.state->snapshot();

  // The numbers: the last good state.
  CHECK(snap->model.nodes[0].exclusive_cpus == CpuSet{1, 13});
  CHECK(snap->model.containers[0].cpus == CpuSet{1, 13});
  // The debug page.
  const auto debug = numa_debug_json(*snap);
  const auto& file = debug.at("files").as_array()[0].as_object();
  CHECK(file.at("name").as_string() == "cpu_manager_state");
  CHECK(file.at("status").as_string() == "invalid");
  CHECK(file.at("healthy").as_bool() == false);
  CHECK(file.at("reason").as_string() == "checksum_mismatch");
  CHECK(file.at("serving_last_good").as_bool() == true);
  CHECK(file.at("errors_total").at("checksum_mismatch").to_number<int>() == 1);
  CHECK(std::string(file.at("detail").as_string()).find("content is not used") != std::string::npos);
  // The metric.
  const auto lines = metric_lines(*f.state);
  CHECK(has_line(lines, "numainfo_checkpoint_valid{file=\"cpu_manager_state\",node=\"fixture-node\"} 0"));
  CHECK(has_line(lines,
                 "numainfo_checkpoint_errors_total{file=\"cpu_manager_state\",node=\"fixture-node\",reason=\"checksum_"
                 "mismatch\"} 1"));
  CHECK(has_line(lines, "numainfo_core_count{node=\"fixture-node\",numanode=\"node00\",type=\"allocation\"} 2"));
}

TEST_CASE("a checkpoint naming CPUs the machine does not have is invalid_cpuset") {
  FixtureNode f;  // 16 CPUs
  const auto path = f.root / "var/lib/kubelet/cpu_manager_state";
  write_file(path.parent_path() / "tmp", kubelet_fixture("cpu_manager_state.static.24cpu-ht-pair.v2.json"));
  std::filesystem::rename(path.parent_path() / "tmp", path);
  f.state->refresh();
  const auto snap = f.state->snapshot();
  CHECK(snap->files[0].status == FileStatus::invalid);
  CHECK(snap->files[0].reason == "invalid_cpuset");
  CHECK(snap->files[0].detail.find("this machine has no CPU above 15") != std::string::npos);
  CHECK(snap->files[0].serving_last_good);
  CHECK(snap->model.nodes[0].exclusive_cpus == CpuSet{1, 13});  // the last good state
  CHECK(has_line(metric_lines(*f.state),
                 "numainfo_checkpoint_errors_total{file=\"cpu_manager_state\",node=\"fixture-node\",reason=\"invalid_"
                 "cpuset\"} 1"));

  // Read before the topology was known, the file is judged against the hard cap, and again once
  // the machine's CPUs are known.
  TempDir tmp;
  const auto root = unpack_hwloc_fixture("16em64t-4s2c2t", tmp);
  write_file(root / "var/lib/kubelet/cpu_manager_state",
             kubelet_fixture("cpu_manager_state.static.24cpu-ht-pair.v2.json"));
  ManualClock clock;
  NumaOptions opts;
  opts.paths = HostPaths::under(root);
  NumaState early(opts, clock);
  early.refresh();
  CHECK(early.snapshot()->files[0].status == FileStatus::valid);
  REQUIRE(early.load_topology().has_value());
  early.refresh();
  CHECK(early.snapshot()->files[0].status == FileStatus::invalid);
  CHECK(early.snapshot()->files[0].reason == "invalid_cpuset");
}
