#include "numa/checkpoint_file.hpp"
#include "numa/refresh_trigger.hpp"

#include "tests/support/fixtures.hpp"
#include "tests/support/hwloc_fixture.hpp"

#include <catch2/catch.hpp>

#include <cstdio>

using namespace nodepack::numa;
using namespace nodepack::numa::test;
using namespace nodepack::testing;
using nodepack::ManualClock;

namespace {

// The kubelet writes a temporary file and renames it over the checkpoint.
void replace_by_rename(const std::filesystem::path& target, const std::string& content) {
  const auto tmp = target.parent_path() / ".tmp-checkpoint";
  write_file(tmp, content);
  std::filesystem::rename(tmp, target);
}

std::uint64_t errors(const FileState& s, const std::string& reason) { return s.errors_total.find(reason)->second; }

}  // namespace

TEST_CASE("checkpoint file: missing means policy none, then each change is tracked") {
  TempDir dir;
  ManualClock clock;
  const auto path = dir.path() / "cpu_manager_state";
  CheckpointFile<CpuManagerState> file(
      "cpu_manager_state", path, [](std::string_view t) { return parse_cpu_manager_state(t); }, clock);

  CHECK_FALSE(file.refresh());
  CHECK(file.current() == nullptr);
  CHECK(file.state().status == FileStatus::missing);
  CHECK_FALSE(file.state().healthy());
  REQUIRE(file.state().last_read.has_value());

  const std::string good = kubelet_fixture("cpu_manager_state.static.24cpu-ht-pair.v2.json");
  replace_by_rename(path, good);
  clock.advance(std::chrono::seconds(10));
  CHECK(file.refresh());
  REQUIRE(file.current() != nullptr);
  CHECK(file.state().status == FileStatus::valid);
  CHECK(file.state().checksum == ChecksumStatus::verified);
  CHECK(file.state().healthy());
  CHECK(file.state().layout == "v2");
  CHECK(file.state().last_good == file.state().last_read);
  const auto good_time = *file.state().last_good;

  SECTION("a bad replacement keeps the last good state, counted once per content") {
    replace_by_rename(path, good.substr(0, good.size() - 20));  // half-written
    clock.advance(std::chrono::seconds(10));
    CHECK_FALSE(file.refresh());
    REQUIRE(file.current() != nullptr);
    CHECK(file.current()->entries.at("235148fe-393f-47a8-a17d-bd55bc1a836b").at("cgroup1-0") == CpuSet{1, 13});
    CHECK(file.state().status == FileStatus::invalid);
    CHECK(file.state().reason == "parse_error");
    CHECK(file.state().serving_last_good);
    CHECK(file.state().last_good == good_time);
    CHECK(*file.state().last_read > good_time);
    CHECK(errors(file.state(), "parse_error") == 1);

    CHECK_FALSE(file.refresh());  // same bad content: no new error
    CHECK(errors(file.state(), "parse_error") == 1);

    replace_by_rename(path, R"({"version":"v9","payload":{}})");  // unknown version
    CHECK_FALSE(file.refresh());
    CHECK(file.state().reason == "unknown_layout");
    CHECK(errors(file.state(), "unknown_layout") == 1);
    CHECK(file.current()->policy_name == "static");

    replace_by_rename(path, kubelet_fixture("cpu_manager_state.none.v2.json"));
    CHECK(file.refresh());
    CHECK(file.state().status == FileStatus::valid);
    CHECK(file.state().reason.empty());
    CHECK(file.current()->policy_name == "none");
  }

  // This section asserted the old behaviour, "a wrong checksum is used and flagged": refresh()
  // true, the tampered CPUs {1, 12} in use and status valid beside a metric saying invalid. The
  // kubelet refuses such a file, so the agent now does too, exactly as for a parse error.
  SECTION("a wrong checksum is refused like a parse error: the last good state stays") {
    std::string tampered = good;
    tampered.replace(tampered.find("1,13"), 4, "1,12");
    replace_by_rename(path, tampered);
    clock.advance(std::chrono::seconds(10));
    CHECK_FALSE(file.refresh());
    REQUIRE(file.current() != nullptr);
    CHECK(file.current()->entries.begin()->second.at("cgroup1-0") == CpuSet{1, 13});
    CHECK(file.state().status == FileStatus::invalid);
    CHECK(file.state().reason == "checksum_mismatch");
    CHECK(file.state().serving_last_good);
    CHECK(file.state().last_good == good_time);
    CHECK(file.state().layout == "v2");                        // of the state in use
    CHECK(file.state().checksum == ChecksumStatus::verified);  // likewise
    CHECK(file.state().detail.find("stored checksum 1552716370 matches no known layout (v2 computes ") !=
          std::string::npos);
    CHECK_FALSE(file.state().healthy());
    CHECK(errors(file.state(), "checksum_mismatch") == 1);
    CHECK_FALSE(file.refresh());  // same content: counted once
    CHECK(errors(file.state(), "checksum_mismatch") == 1);

    replace_by_rename(path, good);  // the kubelet rewrites it properly
    CHECK(file.refresh());
    CHECK(file.state().status == FileStatus::valid);
    CHECK(file.state().reason.empty());
    CHECK(file.state().healthy());
  }

  SECTION("corrupt bytes") {
    std::string corrupt = good;
    corrupt[10] = '\xff';
    replace_by_rename(path, corrupt);
    CHECK_FALSE(file.refresh());
    CHECK(file.state().reason == "parse_error");
    CHECK(file.current() != nullptr);
  }

  SECTION("the file going away drops the state: policy none") {
    std::filesystem::remove(path);
    CHECK(file.refresh());
    CHECK(file.current() == nullptr);
    CHECK(file.state().status == FileStatus::missing);
  }
}

TEST_CASE("checkpoint file: a wrong checksum with nothing good before leaves no state") {
  TempDir dir;
  ManualClock clock;
  const auto path = dir.path() / "cpu_manager_state";
  CheckpointFile<CpuManagerState> file(
      "cpu_manager_state", path, [](std::string_view t) { return parse_cpu_manager_state(t); }, clock);
  std::string tampered = kubelet_fixture("cpu_manager_state.static.24cpu-ht-pair.v2.json");
  tampered.replace(tampered.find("1,13"), 4, "1,12");
  write_file(path, tampered);
  CHECK_FALSE(file.refresh());
  CHECK(file.current() == nullptr);  // as with no file: nothing is pinned as far as we know
  CHECK(file.state().status == FileStatus::invalid);
  CHECK(file.state().reason == "checksum_mismatch");
  CHECK_FALSE(file.state().serving_last_good);
  CHECK_FALSE(file.state().healthy());
}

TEST_CASE("checkpoint file: zero checksums follow the kubelet's rule for each file") {
  TempDir dir;
  ManualClock clock;
  SECTION("cpu_manager_state v2: 0 means not checksummed, and the content is used") {
    const auto path = dir.path() / "cpu_manager_state";
    CheckpointFile<CpuManagerState> file(
        "cpu_manager_state", path, [](std::string_view t) { return parse_cpu_manager_state(t); }, clock);
    write_file(path, R"({"policyName":"static","defaultCpuSet":"0,2-3","entries":{"p":{"c":"1"}},"checksum":0})");
    CHECK(file.refresh());
    REQUIRE(file.current() != nullptr);
    CHECK(file.current()->entries.at("p").at("c") == CpuSet{1});
    CHECK(file.state().status == FileStatus::valid);
    CHECK(file.state().checksum == ChecksumStatus::absent);
    CHECK(file.state().healthy());
    CHECK(file.state().detail == "no checksum stored, which the kubelet accepts for layout v2");
  }
  SECTION("device checkpoint: 0 is a wrong checksum, refused") {
    const auto path = dir.path() / "kubelet_internal_checkpoint";
    CheckpointFile<DeviceCheckpoint> file("kubelet_internal_checkpoint", path, &parse_device_checkpoint, clock);
    write_file(
        path,
        R"({"Data":{"PodDeviceEntries":[{"PodUID":"p","ContainerName":"c","ResourceName":"r","DeviceIDs":{"0":["d1"]},"AllocResp":null}],"RegisteredDevices":{"r":["d1"]}},"Checksum":0})");
    CHECK_FALSE(file.refresh());
    CHECK(file.current() == nullptr);
    CHECK(file.state().status == FileStatus::invalid);
    CHECK(file.state().reason == "checksum_mismatch");
  }
  SECTION("cpu_manager_state with data: a zero data checksum is refused") {
    const auto path = dir.path() / "cpu_manager_state";
    CheckpointFile<CpuManagerState> file(
        "cpu_manager_state", path, [](std::string_view t) { return parse_cpu_manager_state(t); }, clock);
    write_file(path, R"({"data":"{\"policyName\":\"static\",\"defaultCpuSet\":\"1-3\"}","dataChecksum":0})");
    CHECK_FALSE(file.refresh());
    CHECK(file.current() == nullptr);
    CHECK(file.state().reason == "checksum_mismatch");
  }
}

TEST_CASE("checkpoint file: oversized files are not read") {
  TempDir dir;
  ManualClock clock;
  const auto path = dir.path() / "memory_manager_state";
  CheckpointFile<MemoryManagerState> file("memory_manager_state", path, &parse_memory_manager_state, clock, 128);
  write_file(path, kubelet_fixture("memory_manager_state.k8s-unittest.v1.json"));  // 291 bytes
  CHECK_FALSE(file.refresh());
  CHECK(file.current() == nullptr);
  CHECK(file.state().status == FileStatus::invalid);
  CHECK(file.state().reason == "oversized");
  CHECK(errors(file.state(), "oversized") == 1);
  CHECK_FALSE(file.refresh());
  CHECK(errors(file.state(), "oversized") == 1);  // unchanged failure: counted once

  std::string out;
  std::string err;
  CHECK(read_bounded(path, 291, out, err) == ReadOutcome::ok);
  CHECK(out.size() == 291);
  CHECK(read_bounded(path, 290, out, err) == ReadOutcome::oversized);
  CHECK(read_bounded(dir.path() / "nope", 290, out, err) == ReadOutcome::missing);
  CHECK(read_bounded(dir.path(), 290, out, err) == ReadOutcome::error);
}

TEST_CASE("refresh trigger: renames in the kubelet directory and the timer") {
  TempDir dir;
  ManualClock clock;
  RefreshTrigger trigger(dir.path(), std::chrono::seconds(30), clock);
  REQUIRE(trigger.fd() >= 0);
  CHECK_FALSE(trigger.watching_all());  // device-plugins/ does not exist yet
  CHECK(trigger.poll());                // first call: always
  CHECK_FALSE(trigger.poll());

  replace_by_rename(dir.path() / "cpu_manager_state", "{}");
  CHECK(trigger.poll());
  CHECK_FALSE(trigger.poll());

  write_file(dir.path() / "unrelated", "x");
  CHECK_FALSE(trigger.poll());

  std::filesystem::create_directories(dir.path() / "device-plugins");
  clock.advance(std::chrono::seconds(30));
  CHECK(trigger.poll());  // timer; also picks up the new directory
  CHECK(trigger.watching_all());
  replace_by_rename(dir.path() / "device-plugins/kubelet_internal_checkpoint", "{}");
  CHECK(trigger.poll());

  std::filesystem::remove(dir.path() / "memory_manager_state");  // not there: no event
  CHECK_FALSE(trigger.poll());
  write_file(dir.path() / "memory_manager_state", "{}");
  CHECK(trigger.poll());
}
