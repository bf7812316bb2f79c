// The kubelet's two accounts of what it handed out, on the fixture series: the checkpoint files
// and the pod-resources API (served by a fake kubelet over a real unix socket) must give the same
// per-NUMA allocation, and the agent must say so, or say where they differ.

#include "numa/collector.hpp"
#include "numa/numa_state.hpp"
#include "podresources/client.hpp"

#include "tests/support/fake_podresources.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/hwloc_fixture.hpp"
#include "tests/support/kubelet_checksum.hpp"

#include <prometheus/text_serializer.h>
#include <catch2/catch.hpp>

#include <sstream>

using namespace nodepack;
using namespace nodepack::numa;
using namespace nodepack::numa::test;
using namespace nodepack::testing;

namespace {

constexpr std::uint64_t GiB = 1ull << 30;

struct Scenario {
  std::string name;  // tests/fixtures/podresources/<name>/
  std::function<std::filesystem::path(const TempDir&)> unpack;
  std::string reserved_cpus;  // the kubelet's --reserved-cpus, as the agent is told
  // The three checkpoint files' content, with the checksums the kubelet would store.
  std::function<std::string()> cpu, memory, devices;
};

std::string pr_fixture(const std::string& scenario, const std::string& file) {
  return read_file(fixtures() / "podresources" / scenario / file);
}

std::string cpu_checksummed(std::string json) {
  return with_kubelet_checksum(
      std::move(json), [](std::string_view t) { return parse_cpu_manager_state(t); }, "v2");
}
std::string memory_checksummed(std::string json) {
  return with_kubelet_checksum(
      std::move(json), [](std::string_view t) { return parse_memory_manager_state(t); }, "v1");
}
std::string devices_checksummed(std::string json) {
  return with_kubelet_checksum(
      std::move(json), [](std::string_view t) { return parse_device_checkpoint(t); }, "v2");
}

Scenario made_shape(const std::string& name, const std::string& reserved) {
  return Scenario{name,
                  [name](const TempDir& t) { return unpack_shape_fixture(name, t); },
                  reserved,
                  [name] { return cpu_checksummed(pr_fixture(name, "cpu_manager_state.json")); },
                  [name] { return memory_checksummed(pr_fixture(name, "memory_manager_state.json")); },
                  [name] { return devices_checksummed(pr_fixture(name, "kubelet_internal_checkpoint.json")); }};
}

// The series: hwloc's 16-CPU dump with the kubelet's own fixture files, and the two shapes.
std::vector<Scenario> series() {
  return {
      Scenario{
          "16em64t-4s2c2t", [](const TempDir& t) { return unpack_hwloc_fixture("16em64t-4s2c2t", t); }, "0,8",
          [] {
            // The 24-CPU fixture cut to this machine's 16 CPUs (as in tests/numa/test_model.cpp).
            return cpu_checksummed(
                R"({"policyName":"static","defaultCpuSet":"0,2-12,14-15","entries":{"235148fe-393f-47a8-a17d-bd55bc1a836b":{"cgroup1-0":"1,13"}},"checksum":0})");
          },
          [] { return kubelet_fixture("memory_manager_state.k8s-unittest.v1.json"); },
          [] { return kubelet_fixture("kubelet_internal_checkpoint.kind-tegra.numa-minus1.json"); }},
      made_shape("gb200-like", "0-1,72-73"),
      made_shape("tiered-hbm-cxl", "0,32"),
  };
}

// One agent's NUMA state on a scenario's machine, fed by either account or both.
struct Agent {
  TempDir tmp;
  std::filesystem::path root;
  ManualClock clock;
  std::unique_ptr<NumaState> state;
  std::unique_ptr<FakePodResources> kubelet;

  Agent(const Scenario& s, bool checkpoints, bool podresources) {
    root = s.unpack(tmp);
    const auto kubelet_root = root / "var/lib/kubelet";
    if (checkpoints) {
      write_file(kubelet_root / "cpu_manager_state", s.cpu());
      write_file(kubelet_root / "memory_manager_state", s.memory());
      write_file(kubelet_root / "device-plugins/kubelet_internal_checkpoint", s.devices());
    }
    NumaOptions opts;
    opts.paths = HostPaths::under(root);
    opts.node_name = s.name;
    opts.reserved_cpus = CpuSet::parse(s.reserved_cpus).value();
    if (podresources) {
      opts.podresources_socket = (tmp.path() / "pod-resources/kubelet.sock").string();
      kubelet = std::make_unique<FakePodResources>(opts.podresources_socket);
      kubelet->set_list(FakePodResources::list_from_json(pr_fixture(s.name, "list.json")));
      kubelet->set_allocatable(FakePodResources::allocatable_from_json(pr_fixture(s.name, "allocatable.json")));
      kubelet->start();
    }
    state = std::make_unique<NumaState>(opts, clock);
    REQUIRE(state->load_topology().has_value());
    state->refresh();
    if (podresources) {
      ask();
    }
  }

  void ask() {
    podresources::Client client({state->options().podresources_socket, std::chrono::seconds(5), 16u << 20});
    auto answer = client.ask(clock.now());
    if (answer) {
      state->podresources_answered(std::move(*answer));
    } else {
      state->podresources_failed(answer.error());
    }
  }

  const AllocationModel& model() const { return snapshot->model; }
  std::shared_ptr<const NumaSnapshot> snapshot;
  const AllocationModel& refreshed() {
    snapshot = state->snapshot();
    return snapshot->model;
  }
};

void same_per_numa(const AllocationModel& a, const AllocationModel& b) {
  REQUIRE(a.nodes.size() == b.nodes.size());
  for (std::size_t i = 0; i < a.nodes.size(); ++i) {
    const auto& x = a.nodes[i];
    const auto& y = b.nodes[i];
    INFO("node" << x.id);
    CHECK(x.id == y.id);
    CHECK(x.capacity_cpus == y.capacity_cpus);
    CHECK(x.reserved_cpus == y.reserved_cpus);
    CHECK(x.allocatable_cpus == y.allocatable_cpus);
    CHECK(x.exclusive_cpus == y.exclusive_cpus);
    CHECK(x.shared_pool == y.shared_pool);
    CHECK(x.memory == y.memory);
    CHECK(x.hugepages == y.hugepages);
    CHECK(x.devices_allocated == y.devices_allocated);
    CHECK(x.devices_allocatable == y.devices_allocatable);
  }
  CHECK(a.devices_without_affinity == b.devices_without_affinity);
  CHECK(a.allocatable_without_affinity == b.allocatable_without_affinity);
}

std::string metrics_of(const NumaState& state) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, NumaCollector(state, {}).Collect());
  return out.str();
}

bool has_line(const std::string& text, const std::string& line) { return text.find(line + "\n") != std::string::npos; }

}  // namespace

TEST_CASE("checkpoints and pod-resources give identical per-NUMA allocation on the fixture series") {
  for (const auto& s : series()) {
    SECTION(s.name) {
      Agent files(s, true, false);
      Agent api(s, false, true);
      const auto& f = files.refreshed();
      const auto& p = api.refreshed();
      CHECK(f.placements_source == ValueSource::checkpoint);
      CHECK(p.placements_source == ValueSource::podresources);
      CHECK(api.snapshot->podresources.status == "ok");
      CHECK(p.sources.at({"devices", "allocatable"}) == ValueSource::podresources);
      // Registered devices that are PCI devices count on their PCI device's node; the Tegra's
      // "tegra" is none, and pod-resources gives it no topology: 0 per node by both accounts.
      CHECK(f.sources.at({"devices", "allocatable"}) == ValueSource::checkpoint);
      same_per_numa(f, p);

      // Both accounts at once: compared, and agreeing everywhere.
      Agent both(s, true, true);
      const auto& m = both.refreshed();
      same_per_numa(f, m);
      CHECK(m.check.compared);
      CHECK(m.check.mismatches.empty());
      CHECK(m.check.differing.count("cpu") == 1);
      for (const auto& [resource, differing] : m.check.differing) {
        INFO(resource);
        CHECK(differing == 0);
      }
      const auto text = metrics_of(*both.state);
      CHECK(has_line(text, "numainfo_source_mismatch{node=\"" + s.name + "\",resource=\"cpu\"} 0"));
      CHECK(has_line(text, "numainfo_podresources_up{node=\"" + s.name + "\"} 1"));
      CHECK(has_line(text, "numainfo_value_source{node=\"" + s.name +
                               "\",resource=\"cpu\",source=\"podresources\",type=\"allocation\"} 1"));
    }
  }
}

// The numbers behind the equality, worked out from the fixture files (tests/fixtures/podresources).
TEST_CASE("gb200-like: what the accounts say, per NUMA node") {
  Agent a(series()[1], true, true);
  const auto& m = a.refreshed();
  REQUIRE(m.nodes.size() == 34);
  const auto& n0 = m.nodes[0];
  CHECK(n0.capacity_cpus.size() == 72);
  CHECK(n0.allocatable_cpus.to_string() == "2-71");
  CHECK(n0.exclusive_cpus.to_string() == "2-17");
  CHECK(n0.memory.allocatable == 476 * GiB);
  CHECK(n0.memory.allocation == 64 * GiB);
  CHECK(n0.hugepages.at("hugepages-512Mi").allocation == 2 * GiB);
  CHECK(n0.devices_allocated.at("nvidia.com/gpu") == 2);
  CHECK(n0.devices_allocatable.at("nvidia.com/gpu") == 2);
  const auto& n1 = m.nodes[1];
  CHECK(n1.exclusive_cpus.to_string() == "80-87");
  CHECK(n1.memory.allocation == 32 * GiB);
  CHECK(n1.devices_allocated.at("nvidia.com/gpu") == 1);
  CHECK(n1.devices_allocatable.at("nvidia.com/gpu") == 2);
  const auto& gpu = m.nodes[2];
  CHECK(gpu.id == 2);
  CHECK(gpu.capacity_cpus.empty());
  CHECK(gpu.memory.capacity == 186 * GiB);
  CHECK(gpu.memory.allocatable == 186 * GiB);
  CHECK(gpu.memory.allocation == 0);
  // GPUs are linked to nvidia.com/gpu through the UUIDs the driver prints; the NICs are not any
  // resource's.
  std::size_t gpus_linked = 0;
  for (const auto& l : m.pci) {
    if (l.device.class_id == 0x0302) {
      CHECK(l.resource == "nvidia.com/gpu");
      ++gpus_linked;
    } else {
      CHECK(l.resource.empty());
    }
  }
  CHECK(gpus_linked == 4);
  const auto text = metrics_of(*a.state);
  CHECK(has_line(text, R"(numainfo_pci_device_count{class="network",node="gb200-like",numanode="node00"} 2)"));
  CHECK(has_line(text, R"(numainfo_pci_device_count{class="network",node="gb200-like",numanode="node01"} 2)"));
  CHECK(text.find("numainfo_pci_device_count{class=\"display\"") == std::string::npos);
  CHECK(has_line(
      text,
      R"(numainfo_device_count{node="gb200-like",numanode="node01",resource="nvidia.com/gpu",type="allocatable"} 2)"));
  CHECK(has_line(
      text,
      R"(numainfo_device_count{node="gb200-like",numanode="node01",resource="nvidia.com/gpu",type="allocation"} 1)"));
  CHECK(has_line(text, R"(numainfo_core_count{node="gb200-like",numanode="node00",type="allocation"} 16)"));
}

TEST_CASE("tiered-hbm-cxl: a block over DRAM and HBM is one group; the split is the memory manager's") {
  Agent both(series()[2], true, true);
  const auto& m = both.refreshed();
  CHECK(m.nodes[0].exclusive_cpus.to_string() == "4-7,36-39");
  CHECK(m.nodes[0].allocatable_cpus.size() == 30);
  CHECK(m.nodes[1].exclusive_cpus.to_string() == "20-21,52-53");
  CHECK(m.nodes[0].memory.allocation == 8 * GiB);  // pg's block over node0+node2, all from node 0
  CHECK(m.nodes[2].memory.allocation == 0);
  CHECK(m.nodes[2].memory.allocatable == 64 * GiB);
  CHECK(m.nodes[0].hugepages.at("hugepages-1Gi").allocation == 2 * GiB);
  CHECK(m.nodes[0].devices_allocated.at("example.com/nic") == 1);
  CHECK(m.nodes[1].devices_allocatable.at("example.com/nic") == 1);
  CHECK(m.sources.at({"memory", "allocation"}) == ValueSource::checkpoint);  // the exact split

  // pod-resources alone estimates the split in the memory manager's fill order, and says so.
  Agent api(series()[2], false, true);
  const auto& p = api.refreshed();
  CHECK(p.sources.at({"memory", "allocation"}) == ValueSource::podresources);
  CHECK(p.nodes[0].memory.allocation == 8 * GiB);
  REQUIRE(p.nodes[2].notes.size() == 1);
  CHECK(p.nodes[2].notes[0].find("node00+node02") != std::string::npos);

  // The NIC is example.com/nic's; the NVMe drive no device plugin's.
  const auto text = metrics_of(*both.state);
  CHECK(has_line(text, R"(numainfo_pci_device_count{class="storage",node="tiered-hbm-cxl",numanode="node00"} 1)"));
  CHECK(text.find(R"(numainfo_pci_device_count{class="network")") == std::string::npos);
}

TEST_CASE("when the accounts disagree, the agent says where, and uses pod-resources") {
  const Scenario s = series()[1];
  Agent both(s, true, true);
  auto list = FakePodResources::list_from_json(pr_fixture(s.name, "list.json"));
  auto* cpus = list.mutable_pod_resources(1)->mutable_containers(0)->mutable_cpu_ids();
  cpus->Set(7, 90);  // serve holds 80-86,90 by this account, 80-87 by the checkpoint's
  both.kubelet->set_list(list);
  both.clock.advance(std::chrono::seconds(10));
  both.ask();
  const auto& m = both.refreshed();
  CHECK(m.nodes[1].exclusive_cpus.to_string() == "80-86,90");
  CHECK(m.check.differing.at("cpu") == 1);
  CHECK(m.check.differing.at("memory") == 0);
  REQUIRE(m.check.mismatches.size() == 1);
  CHECK(m.check.mismatches[0].resource == "cpu");
  CHECK(m.check.mismatches[0].where == "node01");
  CHECK(m.check.mismatches[0].podresources == "80-86,90");
  CHECK(m.check.mismatches[0].checkpoint == "80-87");
  CHECK(has_line(metrics_of(*both.state), R"(numainfo_source_mismatch{node="gb200-like",resource="cpu"} 1)"));

  // A checkpoint written after the answer is compared only with the next answer.
  both.clock.advance(std::chrono::seconds(10));
  write_file(
      both.root / "var/lib/kubelet/cpu_manager_state",
      cpu_checksummed(
          R"({"policyName":"static","defaultCpuSet":"0-1,18-79,87-89,91-143","entries":{"6f1a0c52-0000-4000-8000-000000000001":{"trainer":"2-17"},"6f1a0c52-0000-4000-8000-000000000002":{"server":"80-86,90"}},"checksum":0})"));
  REQUIRE(both.state->refresh());
  CHECK(both.refreshed().check.differing.count("cpu") == 0);
  both.clock.advance(std::chrono::seconds(1));
  both.ask();
  CHECK(both.refreshed().check.differing.at("cpu") == 0);
  CHECK(both.refreshed().check.mismatches.empty());
}
