// Real irq programs: interrupt handler time per node, by handler name and softirq vector.
#include "bpf/irq/irq_collector.hpp"
#include "tests/bpf/bpf_registry.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace nb = nodepack::bpf;
namespace fs = std::filesystem;
using nb::test::find_metric;

namespace {

// Loopback UDP: every datagram goes through the NET_RX softirq.
void loopback_traffic(int packets) {
  int rx = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  int tx = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(rx, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
  socklen_t len = sizeof(a);
  ::getsockname(rx, reinterpret_cast<sockaddr*>(&a), &len);
  char buf[64] = {};
  for (int i = 0; i < packets; ++i) {
    ::sendto(tx, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    ::recv(rx, buf, sizeof(buf), 0);
  }
  ::close(rx);
  ::close(tx);
}

// Direct reads from a block device complete through its interrupt handler.
void disk_reads(int blocks) {
  const char* tmpdir = std::getenv("TMPDIR");
  fs::path file = fs::path(tmpdir != nullptr ? tmpdir : "/var/tmp") / ("nodepack-irq-" + std::to_string(::getpid()));
  int fd = ::open(file.c_str(), O_CREAT | O_RDWR | O_DIRECT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return;
  }
  void* buf = nullptr;
  if (::posix_memalign(&buf, 4096, 4096) == 0 && ::fallocate(fd, 0, 0, 4096L * blocks) == 0) {
    std::memset(buf, 1, 4096);
    for (int i = 0; i < blocks; ++i) {
      (void)!::pwrite(fd, buf, 4096, 4096L * i);
      ::fdatasync(fd);
      (void)!::pread(fd, buf, 4096, 4096L * i);
    }
  }
  std::free(buf);
  ::close(fd);
  fs::remove(file);
}

}  // namespace

TEST_CASE("irq: hard and soft interrupt handler times are exported per node", "[bpf][irq]") {
  NODEPACK_REQUIRE_BPF_OR_SKIP();
  nb::test::KubepodsTree tree;
  nb::test::FixedPodLookup pods;
  auto reg = nb::test::registry_for({"irq"}, tree.root(), pods, std::make_unique<nb::KernelFeatureProbe>());
  reg->start();
  REQUIRE(reg->status()["irq"]);
  auto* irq = dynamic_cast<nb::IrqCollector*>(reg->find("irq"));
  REQUIRE(irq != nullptr);

  loopback_traffic(200);
  disk_reads(32);
  CHECK(nb::test::wait_for([&] { return !irq->read_hard().empty(); }, 3000));
  auto soft = irq->read_soft();
  REQUIRE(soft.contains("net_rx"));
  CHECK(soft["net_rx"].count >= 1);

  auto families = reg->Collect();
  auto* net_rx = find_metric(families, "kpod_irq_sw_latency_seconds", {{"vector", "net_rx"}, {"node", "test-node"}});
  REQUIRE(net_rx != nullptr);
  CHECK(net_rx->histogram.sample_count >= 1);
  CHECK(net_rx->histogram.sample_sum > 0);
  CHECK(net_rx->histogram.sample_sum / static_cast<double>(net_rx->histogram.sample_count) < 0.1);
  const prometheus::MetricFamily* hw = nullptr;
  for (const auto& f : families) {
    if (f.name == "kpod_irq_hw_count_total") {
      hw = &f;
    }
  }
  REQUIRE(hw != nullptr);
  REQUIRE_FALSE(hw->metric.empty());
  for (const auto& m : hw->metric) {
    CHECK(m.counter.value >= 1);
    CHECK(m.label.front().name == "irq");
    CHECK_FALSE(m.label.front().value.empty());
  }
}
