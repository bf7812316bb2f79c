// Loads the real sched programs, runs workloads in two fake pods' cgroups and checks that each
// pod's context switches and run-queue waits are charged to it and not to its neighbour.
#include "bpf/runtime.hpp"
#include "bpf/sched/sched.h"
#include "bpf/sched/sched_collector.hpp"
#include "common/clock.hpp"
#include "tests/bpf/bpf_registry.hpp"

#include "tests/support/fixtures.hpp"

#include <catch2/catch.hpp>

#include <bpf/bpf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <thread>

namespace nb = nodepack::bpf;
using nb::test::find_metric;

namespace {

const std::string kUidA = "0f1e2d3c-0000-4000-8000-00000000000a";
const std::string kUidB = "0f1e2d3c-0000-4000-8000-00000000000b";
const std::string kCidA(64, 'a');
const std::string kCidB = std::string(63, 'b') + "1";

struct Fixture {
  nb::test::KubepodsTree tree;
  nb::test::FixedPodLookup pods;
  std::filesystem::path cg_a, cg_b;

  Fixture() {
    cg_a = tree.add_container(kUidA, kCidA);
    cg_b = tree.add_container(kUidB, kCidB);
    pods.add(kUidA, {"team-a", "spinner", {{kCidA, "burn"}}});
    pods.add(kUidB, {"team-b", "sleeper", {{kCidB, "nap"}}});
  }

  nb::test::TestRegistry registry(std::unique_ptr<nb::FeatureProbe> probe,
                                  const nodepack::kpod::CollectorOptions& options = {}) {
    return nb::test::registry_for({"sched"}, tree.root(), pods, std::move(probe), {}, options);
  }

  // A registry with sched_slots forced, started, and its sched collector in `sched`; nothing
  // (after skip_or_fail) where the variant cannot load on this kernel.
  std::optional<nb::test::TestRegistry> start_sched_slots(nb::SchedCollector*& sched) {
    nb::KernelFeatureProbe real;
    if (!real.supports("tp_btf:sched_switch") || !real.supports("sched_info")) {
      nb::test::skip_or_fail("sched_slots does not load on this kernel");
      return std::nullopt;
    }
    nodepack::kpod::CollectorOptions options;
    options.sched_variant = "sched_slots";
    auto reg = registry(std::make_unique<nb::KernelFeatureProbe>(), options);
    reg->start();
    sched = dynamic_cast<nb::SchedCollector*>(reg->find("sched"));
    REQUIRE(sched != nullptr);
    REQUIRE(sched->variant() == "sched_slots");
    return reg;
  }

  // Gives B's container's slot to an id that is not a cgroup's: 2^32 above B's, it has B's low
  // bits whatever the array's size. Returns that id.
  std::uint64_t give_b_slot_to_another(nb::SchedCollector& sched) const {
    const std::uint64_t other = nodepack::testing::inode_of(cg_b) + (std::uint64_t{1} << 32);
    REQUIRE(sched.give_slot(other));
    return other;
  }

  // Another id holds B's slot, and its pod is filtered while B is live: that id, and the live
  // cgroups a pass is given (it and B's container).
  std::pair<std::uint64_t, std::vector<nodepack::cgroup::CgroupResolver::LiveCgroup>> b_slot_held_by_a_filtered_pod(
      nb::SchedCollector& sched) const {
    const std::uint64_t other = give_b_slot_to_another(sched);
    return {other,
            {{.id = other, .dir = {}, .level = {}, .pod_uid = "filtered", .container_id = {}},
             {.id = nodepack::testing::inode_of(cg_b), .dir = cg_b, .level = {}, .pod_uid = "b", .container_id = {}}}};
  }

  // Slots held by the pods' cgroups (both pods' and both containers'), and those refused one
  // because a cgroup with the same low id bits held it: together the four, under sched_slots.
  std::size_t cgroups_with_slots(const nb::SchedCollector& sched) const {
    std::size_t n = 0;
    for (const auto& dir : {cg_a.parent_path(), cg_b.parent_path(), cg_a, cg_b}) {
      n += sched.has_slot(nodepack::testing::inode_of(dir)) ? 1 : 0;
    }
    return n;
  }

  // Pod A: two tasks spinning on CPU 0 for 400 ms (they preempt each other and wait in the run
  // queue about half the time). Pod B: one task on CPU 1 sleeping 1 ms, 200 times.
  void run_workloads() {
    std::vector<int> pids;
    pids.push_back(nb::test::spawn_in_cgroup(cg_a, [] { nb::test::spin_on_cpu(0, 400); }));
    pids.push_back(nb::test::spawn_in_cgroup(cg_a, [] { nb::test::spin_on_cpu(0, 400); }));
    pids.push_back(nb::test::spawn_in_cgroup(cg_b, [] { nb::test::sleep_wake_on_cpu(1, 200, 1000); }));
    nb::test::wait_all(pids);
  }
};

void check_attribution(nodepack::kpod::CollectorRegistry& reg, Fixture& fx) {
  auto* sched = dynamic_cast<nb::SchedCollector*>(reg.find("sched"));
  REQUIRE(sched != nullptr);

  // Raw per-cgroup values first: the kernel side keys by the container cgroup's inode.
  auto raw = sched->read_cgroups();
  const auto ino_a = nodepack::testing::inode_of(fx.cg_a);
  const auto ino_b = nodepack::testing::inode_of(fx.cg_b);
  nb::SchedCollector::Value a, b;
  for (const auto& [id, v] : raw) {
    if (id == ino_a) {
      a = v;
    } else if (id == ino_b) {
      b = v;
    }
  }
  INFO("pod A: switches=" << a.switches << " runq count=" << a.runq.count << " sum_ms=" << a.runq.sum_ns / 1e6);
  INFO("pod B: switches=" << b.switches << " runq count=" << b.runq.count << " sum_ms=" << b.runq.sum_ns / 1e6);

  // B slept 200 times: about 200 voluntary switches and 200 wake-ups that waited, but
  // not pod A's preemptions on top (each of B's sleeps costs a switch or two, not ten). On a
  // loaded host a few sleeps end before B gets off the CPU (the 1 ms timer fires while B is
  // preempted), so allow 5% fewer wake-ups than sleeps.
  // The same holds for switches: the sched_info variants count switch-ins (one per sleep that
  // really left the CPU), the others switch-outs (those plus the final one at exit).
  CHECK(b.switches >= 190);
  CHECK(b.switches <= 200 * 3 + 50);
  CHECK(b.runq.count >= 190);
  CHECK(b.runq.count <= 200 * 3 + 50);
  // A's two spinners shared one CPU for 400 ms: together they waited for a large share of it.
  CHECK(a.switches >= 10);
  CHECK(a.runq.count >= 10);
  CHECK(a.runq.sum_ns >= 100'000'000ULL);
  CHECK(a.runq.sum_ns <= 2'000'000'000ULL);
  // B's waits were short wake-up latencies, nowhere near A's contention.
  CHECK(b.runq.sum_ns < a.runq.sum_ns / 2);

  // Then the exported series carry the pod's labels and the same numbers.
  auto families = reg.Collect();
  auto* sw_a = find_metric(families, "kpod_cpu_context_switches_total",
                           {{"namespace", "team-a"}, {"pod", "spinner"}, {"container", "burn"}, {"node", "test-node"}});
  auto* sw_b = find_metric(families, "kpod_cpu_context_switches_total",
                           {{"namespace", "team-b"}, {"pod", "sleeper"}, {"container", "nap"}});
  REQUIRE(sw_a != nullptr);
  REQUIRE(sw_b != nullptr);
  CHECK(sw_a->counter.value >= static_cast<double>(a.switches));
  CHECK(sw_b->counter.value >= static_cast<double>(b.switches));
  CHECK(sw_b->counter.value <= 200 * 3 + 50);

  auto* lat_a = find_metric(families, "kpod_cpu_runqueue_latency_seconds", {{"pod", "spinner"}});
  auto* lat_b = find_metric(families, "kpod_cpu_runqueue_latency_seconds", {{"pod", "sleeper"}});
  REQUIRE(lat_a != nullptr);
  REQUIRE(lat_b != nullptr);
  CHECK(lat_a->histogram.sample_count >= a.runq.count);
  CHECK(lat_a->histogram.sample_sum >= 0.1);
  CHECK(lat_b->histogram.sample_count >= b.runq.count);
  REQUIRE(!lat_a->histogram.bucket.empty());
  CHECK(lat_a->histogram.bucket.back().cumulative_count == lat_a->histogram.sample_count);
  // Spinners were preempted after a scheduler slice: most of A's waits are ≥ 256 µs.
  std::uint64_t below_256us = 0;
  for (const auto& bk : lat_a->histogram.bucket) {
    if (bk.upper_bound <= 262144e-9) {
      below_256us = bk.cumulative_count;
    }
  }
  CHECK(below_256us < lat_a->histogram.sample_count);

  auto* up = find_metric(families, "nodepack_collector_up", {{"collector", "sched"}});
  REQUIRE(up != nullptr);
  CHECK(up->gauge.value == 1.0);
}

}  // namespace

TEST_CASE("sched: tp_btf programs charge switches and run-queue waits to the right pod", "[bpf][sched]") {
  NODEPACK_REQUIRE_BPF_OR_SKIP();
  Fixture fx;
  auto reg = fx.registry(std::make_unique<nb::KernelFeatureProbe>());
  reg->start();
  auto status = reg->status();
  REQUIRE(status["sched"]);
  auto* sched = dynamic_cast<nb::SchedCollector*>(reg->find("sched"));
  REQUIRE(sched != nullptr);
  // The scheduler's own run-queue stamps where the kernel keeps them, else wake-up programs.
  // Where both stamp variants load, the calibration at start-up chose one of them.
  nb::KernelFeatureProbe probe;
  const bool info = probe.supports("sched_info");
  if (info) {
    REQUIRE(sched->calibration().has_value());
    CHECK(sched->variant() == nb::sched_variant_name(sched->calibration()->chosen));
  } else {
    CHECK(sched->variant() == (info ? "sched_info" : "tp_btf"));
  }
  // A scrape before the workload gives the pods' cgroups their array slots (sched_slots): the
  // workload's events then take the fast path.
  reg->Collect();
  if (sched->variant() == "sched_slots") {
    CHECK(fx.cgroups_with_slots(*sched) + sched->slot_collisions() == 4);  // two pod and two container cgroups
    CHECK(sched->slots_in_use() == fx.cgroups_with_slots(*sched));
  } else {
    CHECK(sched->slots_in_use() == 0);
  }
  fx.run_workloads();
  check_attribution(*reg, fx);
}

namespace {

// How many BPF links in the kernel attach the program with kernel id `id`.
int links_of_program(std::uint32_t id) {
  int n = 0;
  std::uint32_t link_id = 0;
  while (bpf_link_get_next_id(link_id, &link_id) == 0) {
    const int fd = bpf_link_get_fd_by_id(link_id);
    if (fd < 0) {
      continue;  // detached meanwhile
    }
    bpf_link_info info{};
    std::uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && info.prog_id == id) {
      ++n;
    }
    ::close(fd);
  }
  return n;
}

// Whether the program with kernel id `id` is gone. The kernel frees a detached tracing program
// after an RCU grace period, so this waits for that (a bounded wait, not a timing check).
bool program_freed(std::uint32_t id) {
  for (int i = 0; i < 100; ++i) {
    const int fd = bpf_prog_get_fd_by_id(id);
    if (fd < 0) {
      return true;
    }
    ::close(fd);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

}  // namespace

TEST_CASE("sched: the calibration keeps one stamp variant attached, freed the other, and it counts", "[bpf][sched]") {
  NODEPACK_REQUIRE_BPF_OR_SKIP();
  nb::KernelFeatureProbe real;
  if (!real.supports("tp_btf:sched_switch") || !real.supports("sched_info")) {
    nb::test::skip_or_fail("sched_slots and sched_info do not both load on this kernel");
    return;
  }
  Fixture fx;
  auto reg = fx.registry(std::make_unique<nb::KernelFeatureProbe>());
  // Context switches while start() measures (outside the pods): thousands of runs for each
  // program within the window, whatever else the machine does.
  std::thread load([] { nb::test::sleep_wake_on_cpu(0, 4000, 200); });
  reg->start();
  load.join();
  auto* sched = dynamic_cast<nb::SchedCollector*>(reg->find("sched"));
  REQUIRE(sched != nullptr);
  REQUIRE(sched->calibration().has_value());
  const auto& decision = *sched->calibration();
  INFO(decision.why);
  CHECK(decision.measured);
  REQUIRE(decision.slots.has_value());
  REQUIRE(decision.info.has_value());
  CHECK(decision.slots->run_cnt >= 1000);
  CHECK(decision.info->run_cnt >= 1000);
  CHECK(decision.slots->run_time_ns > 0);
  CHECK(decision.info->run_time_ns > 0);
  CHECK(sched->variant() == nb::sched_variant_name(decision.chosen));

  // One program left in the collector's object, the chosen one; the other is gone from the
  // kernel, and the chosen one has exactly one attachment.
  const bool slots = decision.chosen == nb::SchedVariant::slots;
  const auto stats = sched->program_stats();
  REQUIRE(stats.size() == 1);
  CHECK(stats[0].program == (slots ? "sched_switch_slots" : "sched_switch_info"));
  const auto [slots_id, info_id] = sched->calibrated_program_ids();
  REQUIRE(slots_id != 0);
  REQUIRE(info_id != 0);
  const auto kept = slots ? slots_id : info_id, dropped = slots ? info_id : slots_id;
  CHECK(program_freed(dropped));
  CHECK(links_of_program(kept) == 1);
  CHECK(links_of_program(dropped) == 0);

  // The ns per run of both are exported; then the kept variant counts a known workload.
  auto families = reg->Collect();
  for (const char* program : {"sched_switch_slots", "sched_switch_info"}) {
    auto* ns =
        find_metric(families, "nodepack_bpf_calibration_ns_per_run", {{"collector", "sched"}, {"program", program}});
    REQUIRE(ns != nullptr);
    CHECK(ns->gauge.value > 0);
  }
  CHECK(sched->slots_in_use() == (slots ? 4u - sched->slot_collisions() : 0u));
  CHECK(fx.cgroups_with_slots(*sched) == sched->slots_in_use());
  fx.run_workloads();
  check_attribution(*reg, fx);
}

TEST_CASE("sched: --kpod.sched.variant=sched_slots skips the calibration", "[bpf][sched]") {
  NODEPACK_REQUIRE_BPF_OR_SKIP();
  Fixture fx;
  nb::SchedCollector* sched = nullptr;
  auto started = fx.start_sched_slots(sched);
  if (!started) {
    return;
  }
  auto& reg = *started;
  CHECK_FALSE(sched->calibration().has_value());
  auto families = reg->Collect();
  CHECK(find_metric(families, "nodepack_bpf_calibration_ns_per_run", {{"collector", "sched"}}) == nullptr);
}

TEST_CASE("sched: sched_info without slots keeps every cgroup in the hash map", "[bpf][sched]") {
  NODEPACK_REQUIRE_BPF_OR_SKIP();
  Fixture fx;
  nb::KernelFeatureProbe real;
  if (!real.supports("tp_btf:sched_switch") || !real.supports("sched_info")) {
    nb::test::skip_or_fail("the scheduler's run-queue stamps are not available on this kernel");
    return;
  }
  nodepack::kpod::CollectorOptions options;
  options.sched_variant = "sched_info";
  auto reg = fx.registry(std::make_unique<nb::KernelFeatureProbe>(), options);
  reg->start();
  auto* sched = dynamic_cast<nb::SchedCollector*>(reg->find("sched"));
  REQUIRE(sched != nullptr);
  CHECK(sched->variant() == "sched_info");
  reg->Collect();
  CHECK(sched->slots_in_use() == 0);
  fx.run_workloads();
  check_attribution(*reg, fx);
}

TEST_CASE("sched: a pod cgroup whose slot another cgroup holds counts in the hash map, never in the slot",
          "[bpf][sched]") {
  NODEPACK_REQUIRE_BPF_OR_SKIP();
  Fixture fx;
  nb::SchedCollector* sched = nullptr;
  auto started = fx.start_sched_slots(sched);
  if (!started) {
    return;
  }
  auto& reg = *started;
  // Handed to another id first, B's slot is not B's when the scrape gives slots out.
  const auto ino_b = nodepack::testing::inode_of(fx.cg_b);
  const std::uint64_t other = fx.give_b_slot_to_another(*sched);
  reg->Collect();
  CHECK_FALSE(sched->has_slot(ino_b));
  CHECK(sched->has_slot(other));
  CHECK(sched->slot_collisions() >= 1);
  // B's events go to the hash map under B's own id (exact counts in check_attribution); the
  // slot's owner had no task and gets no row.
  fx.run_workloads();
  check_attribution(*reg, fx);
  const auto raw = sched->read_cgroups();
  CHECK(std::none_of(raw.begin(), raw.end(), [&](const auto& kv) { return kv.first == other; }));
}

TEST_CASE("sched: a slot taken back from a filtered cgroup", "[bpf][sched]") {
  NODEPACK_REQUIRE_BPF_OR_SKIP();
  Fixture fx;
  nb::SchedCollector* sched = nullptr;
  auto started = fx.start_sched_slots(sched);
  if (!started) {
    return;
  }
  // Another id holds B's slot; then its pod is filtered while B is live.
  const auto ino_b = nodepack::testing::inode_of(fx.cg_b);
  const auto [other, live] = fx.b_slot_held_by_a_filtered_pod(*sched);
  auto filtered = [other = other](std::uint64_t id) { return id == other; };

  SECTION("goes to another only at the next pass") {
    sched->assign_slots(live, filtered);
    CHECK_FALSE(sched->has_slot(other));
    CHECK_FALSE(sched->has_slot(ino_b));  // not in the pass that took it back
    CHECK(sched->slot_collisions() == 0);
    sched->assign_slots(live, filtered);
    CHECK(sched->has_slot(ino_b));
    CHECK_FALSE(sched->has_slot(other));
  }

  SECTION("when it could not be zeroed, is kept out of use until a later pass zeroes it") {
    int writes = 0;
    sched->set_slot_write([&](int, std::uint32_t, const void*) {
      ++writes;
      return -EIO;  // the map refuses every write
    });
    sched->assign_slots(live, filtered);
    CHECK(writes == 1);  // the zeroing; nothing else was tried
    CHECK_FALSE(sched->has_slot(other));
    CHECK_FALSE(sched->has_slot(ino_b));
    // Still refused at the next pass: the zeroing is tried again, and B, whose slot it is, does
    // not get it dirty (it counts in the hash map meanwhile).
    sched->assign_slots(live, filtered);
    CHECK(writes == 2);
    CHECK_FALSE(sched->has_slot(ino_b));
    CHECK(sched->slot_collisions() == 1);
    const auto raw = sched->read_cgroups();
    CHECK(std::none_of(raw.begin(), raw.end(), [&](const auto& kv) { return kv.first == other; }));
    // Writes work again: this pass zeroes the slot, the next hands it to B.
    sched->set_slot_write([&](int fd, std::uint32_t index, const void* values) {
      ++writes;
      return bpf_map_update_elem(fd, &index, values, BPF_ANY);
    });
    sched->assign_slots(live, filtered);
    CHECK(writes == 3);
    CHECK_FALSE(sched->has_slot(ino_b));
    sched->assign_slots(live, filtered);
    CHECK(sched->has_slot(ino_b));
    CHECK(sched->slot_collisions() == 0);
  }
}

TEST_CASE("sched: tp_btf wake-up programs, where the scheduler's stamps are not available", "[bpf][sched]") {
  NODEPACK_REQUIRE_BPF_OR_SKIP();
  Fixture fx;
  nb::KernelFeatureProbe real;
  if (!real.supports("tp_btf:sched_switch")) {
    nb::test::skip_or_fail("no tp_btf for sched_switch on this kernel");
    return;
  }
  auto probe =
      std::make_unique<nb::FixedFeatureProbe>(std::map<std::string, bool, std::less<>>{{"sched_info", false}}, true);
  auto reg = fx.registry(std::move(probe));
  reg->start();
  auto* sched = dynamic_cast<nb::SchedCollector*>(reg->find("sched"));
  REQUIRE(sched != nullptr);
  CHECK(sched->variant() == "tp_btf");
  fx.run_workloads();
  check_attribution(*reg, fx);
}

TEST_CASE("sched: raw_tp fallback chosen by the feature probe works the same", "[bpf][sched]") {
  NODEPACK_REQUIRE_BPF_OR_SKIP();
  Fixture fx;
  auto probe = std::make_unique<nb::FixedFeatureProbe>(
      std::map<std::string, bool, std::less<>>{{"tp_btf:sched_switch", false}, {"raw_tp", true}, {"bpf_stats", true}});
  auto reg = fx.registry(std::move(probe));
  reg->start();
  auto* sched = dynamic_cast<nb::SchedCollector*>(reg->find("sched"));
  REQUIRE(sched != nullptr);
  CHECK(sched->variant() == "raw_tp");
  fx.run_workloads();
  check_attribution(*reg, fx);
}

TEST_CASE("sched: a deleted pod is exported once more, then its series and map entries go", "[bpf][sched]") {
  NODEPACK_REQUIRE_BPF_OR_SKIP();
  Fixture fx;
  auto reg = fx.registry(std::make_unique<nb::KernelFeatureProbe>());
  reg->start();
  auto* sched = dynamic_cast<nb::SchedCollector*>(reg->find("sched"));
  REQUIRE(sched != nullptr);
  reg->Collect();  // slots first (sched_slots), so B's values live in its slot
  const auto slots_before = sched->slots_in_use();
  fx.run_workloads();
  const auto ino_b = nodepack::testing::inode_of(fx.cg_b);
  const auto ino_pod_b = nodepack::testing::inode_of(fx.cg_b.parent_path());
  const auto slots_of_b = (sched->has_slot(ino_b) ? 1u : 0u) + (sched->has_slot(ino_pod_b) ? 1u : 0u);

  auto first = reg->Collect();
  auto* before = find_metric(first, "kpod_cpu_context_switches_total", {{"pod", "sleeper"}});
  REQUIRE(before != nullptr);
  const double last_value = before->counter.value;

  fx.tree.remove_pod(kUidB);
  fx.pods.remove(kUidB);
  reg->rescan();

  auto last = reg->Collect();  // the final read: B's last values, labels from the cache
  auto* final_b = find_metric(last, "kpod_cpu_context_switches_total", {{"pod", "sleeper"}});
  REQUIRE(final_b != nullptr);
  CHECK(final_b->counter.value >= last_value);
  auto raw = sched->read_cgroups();
  CHECK(std::none_of(raw.begin(), raw.end(), [&](const auto& kv) { return kv.first == ino_b; }));

  CHECK(sched->slots_in_use() == slots_before - slots_of_b);  // B's pod and container slots are free again
  CHECK_FALSE(sched->has_slot(ino_b));
  CHECK_FALSE(sched->has_slot(ino_pod_b));
  auto after = reg->Collect();
  CHECK(find_metric(after, "kpod_cpu_context_switches_total", {{"pod", "sleeper"}}) == nullptr);
  CHECK(find_metric(after, "kpod_cpu_context_switches_total", {{"pod", "spinner"}}) != nullptr);
}

TEST_CASE("sched: per-program run counts come from kernel BPF stats", "[bpf][sched]") {
  NODEPACK_REQUIRE_BPF_OR_SKIP();
  Fixture fx;
  auto reg = fx.registry(std::make_unique<nb::KernelFeatureProbe>());
  reg->start();
  fx.run_workloads();
  auto families = reg->Collect();
  auto* sched = dynamic_cast<nb::SchedCollector*>(reg->find("sched"));
  REQUIRE(sched != nullptr);
  const std::string program = sched->variant() == "sched_slots"  ? "sched_switch_slots"
                              : sched->variant() == "sched_info" ? "sched_switch_info"
                                                                 : "sched_switch_btf";
  auto* runs =
      find_metric(families, "nodepack_bpf_program_run_count_total", {{"collector", "sched"}, {"program", program}});
  REQUIRE(runs != nullptr);
  CHECK(runs->counter.value >= 400);  // at least the switches of our own workload
  auto* time = find_metric(families, "nodepack_bpf_program_run_time_seconds_total",
                           {{"collector", "sched"}, {"program", program}});
  REQUIRE(time != nullptr);
  CHECK(time->counter.value > 0);
  auto* cap = find_metric(families, "nodepack_bpf_map_capacity", {{"collector", "sched"}, {"map", "cg_stats"}});
  REQUIRE(cap != nullptr);
  CHECK(cap->gauge.value == SCHED_MAX_CGROUPS);
  auto* entries = find_metric(families, "nodepack_bpf_map_entries", {{"collector", "sched"}, {"map", "cg_stats"}});
  REQUIRE(entries != nullptr);
  CHECK(entries->gauge.value >= 2);
}

TEST_CASE("sched: a container started after the last walk is attributed on the next scrape", "[bpf][sched]") {
  NODEPACK_REQUIRE_BPF_OR_SKIP();
  nb::test::KubepodsTree tree;
  nb::test::FixedPodLookup pods;
  nodepack::ManualClock clock;
  nodepack::kpod::RegistryOptions opts;
  opts.collectors.node = "test-node";
  opts.collectors.clock = &clock;
  nb::BpfRuntime runtime(std::make_unique<nb::KernelFeatureProbe>());
  nb::test::TestRegistry reg(opts, tree.root(), pods, nb::test::pick_specs(runtime.collectors(), {"sched"}));
  reg->start();  // walks the (empty) tree
  REQUIRE(reg->status()["sched"]);

  // No pod event, no rescan(): the kubelet made the cgroup and the runtime started the task.
  const auto cg = tree.add_container(kUidA, kCidA);
  pods.add(kUidA, {"team-a", "late", {{kCidA, "starter"}}});
  nb::test::wait_all({nb::test::spawn_in_cgroup(cg, [] { nb::test::sleep_wake_on_cpu(0, 20, 1000); })});

  clock.advance(std::chrono::seconds(2));  // the last walk is more than a second old
  auto families = reg->Collect();
  auto* sw = find_metric(families, "kpod_cpu_context_switches_total", {{"pod", "late"}, {"container", "starter"}});
  REQUIRE(sw != nullptr);
  CHECK(sw->counter.value >= 15);  // 20 sleeps (a few may end before the task leaves the CPU)
  auto* walks = find_metric(families, "nodepack_cgroup_resolver_miss_rescans_total", {});
  REQUIRE(walks != nullptr);
  CHECK(walks->counter.value == 1);  // one walk for all unknown ids of this scrape
}
