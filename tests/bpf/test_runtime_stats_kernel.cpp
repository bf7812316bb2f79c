// BpfRuntime switches the kernel's BPF run-time statistics on and off (the agent samples them:
// while they are on, every BPF program on the node pays for them) and exports how long they have
// been on, on an injected clock; while they are on, a program's runs are counted one for one.
#include "bpf/runtime.hpp"
#include "tests/support/kernel_env.hpp"

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>

namespace nb = nodepack::bpf;
using nodepack::testing::find_metric;
using namespace std::chrono_literals;

namespace {

double gauge_of(const nb::BpfRuntime& runtime, const std::string& name) {
  const auto families = runtime.Collect();
  const auto* m = find_metric(families, name, {});
  REQUIRE(m != nullptr);
  return name.ends_with("_total") ? m->counter.value : m->gauge.value;
}

// A socket filter that returns 0: something to run on demand (BPF_PROG_TEST_RUN).
struct TinyProgram {
  int fd = -1;
  TinyProgram() {
    const bpf_insn insns[] = {
        {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},  // r0 = 0
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
    };
    fd = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "np_test_stats", "GPL", insns, 2, nullptr);
    REQUIRE(fd >= 0);
  }
  ~TinyProgram() { ::close(fd); }
  std::uint64_t runs() const {
    bpf_prog_info info{};
    std::uint32_t len = sizeof(info);
    REQUIRE(bpf_obj_get_info_by_fd(fd, &info, &len) == 0);
    return info.run_cnt;
  }
  void run(int times) const {
    char packet[64] = {};
    bpf_test_run_opts opts{};  // not LIBBPF_OPTS: a GNU statement expression
    opts.sz = sizeof(opts);
    opts.data_in = packet;
    opts.data_size_in = sizeof(packet);
    opts.repeat = times;
    REQUIRE(bpf_prog_test_run_opts(fd, &opts) == 0);
  }
};

}  // namespace

TEST_CASE("run-time statistics: on and off, the time on summed over windows", "[bpf][kernel]") {
  NODEPACK_REQUIRE_BPF_OR_SKIP();
  nodepack::ManualClock clock;
  nb::BpfRuntime runtime(std::make_unique<nb::FixedFeatureProbe>(std::map<std::string, bool, std::less<>>{},
                                                                 /*fallback=*/true),
                         clock);
  CHECK(gauge_of(runtime, "nodepack_bpf_stats_enabled") == 0);
  CHECK(gauge_of(runtime, "nodepack_bpf_stats_enabled_seconds_total") == 0);

  TinyProgram prog;
  REQUIRE(runtime.set_stats(true));
  CHECK(runtime.set_stats(true));  // already on: the same window goes on
  const auto before = prog.runs();
  prog.run(100);
  CHECK(prog.runs() - before == 100);  // counted one for one while on
  clock.advance(3s);
  CHECK(gauge_of(runtime, "nodepack_bpf_stats_enabled") == 1);
  CHECK(gauge_of(runtime, "nodepack_bpf_stats_enabled_seconds_total") == Approx(3.0));  // the open window too

  CHECK_FALSE(runtime.set_stats(false));
  clock.advance(50s);  // off: not counted
  CHECK(gauge_of(runtime, "nodepack_bpf_stats_enabled") == 0);
  CHECK(gauge_of(runtime, "nodepack_bpf_stats_enabled_seconds_total") == Approx(3.0));
  CHECK_FALSE(runtime.set_stats(false));

  REQUIRE(runtime.set_stats(true));
  clock.advance(1500ms);
  runtime.set_stats(false);
  CHECK(gauge_of(runtime, "nodepack_bpf_stats_enabled_seconds_total") == Approx(4.5));
}

TEST_CASE("run-time statistics: a kernel without them leaves them off, counting nothing", "[bpf]") {
  nodepack::ManualClock clock;
  nb::BpfRuntime runtime(
      std::make_unique<nb::FixedFeatureProbe>(std::map<std::string, bool, std::less<>>{{"bpf_stats", false}}), clock);
  CHECK_FALSE(runtime.set_stats(true));
  clock.advance(10s);
  CHECK(gauge_of(runtime, "nodepack_bpf_stats_enabled") == 0);
  CHECK(gauge_of(runtime, "nodepack_bpf_stats_enabled_seconds_total") == 0);
}
