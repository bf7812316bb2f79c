// Real tcpdrop program: a fake pod whose network namespace drops every packet at the loopback
// qdisc (pfifo with limit 0) tries to connect; each SYN the qdisc drops is charged to that pod
// through the connecting socket, and a neighbour's clean loopback connection counts no drop.
#include "bpf/cgroup_map_collector.hpp"
#include "bpf/tcpdrop/tcpdrop.h"
#include "tests/bpf/bpf_registry.hpp"
#include "tests/support/pod_ns.hpp"

#include "tests/support/fixtures.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace nb = nodepack::bpf;
using nb::test::find_metric;

namespace {

const std::string kUidDropper = "0f1e2d3c-0000-4000-8000-0000000000f6";
const std::string kUidClean = "0f1e2d3c-0000-4000-8000-0000000000a6";
const std::string kCidDropper = std::string(60, 'f') + "0006";
const std::string kCidClean = std::string(60, 'a') + "0006";

constexpr int kConnects = 3;

// A non-blocking connect to 127.0.0.1:port; its SYN goes out at once.
int start_connect(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (fd < 0 || (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 && errno != EINPROGRESS)) {
    return -1;
  }
  return fd;
}

}  // namespace

TEST_CASE("tcpdrop: SYNs dropped by the pod's qdisc are charged to that pod only", "[bpf][tcpdrop]") {
  NODEPACK_REQUIRE_BPF_OR_SKIP();
  if (!nb::test::run("tc -V")) {
    nb::test::skip_or_fail("iproute2's tc command is not installed");
    return;
  }
  nb::test::KubepodsTree tree;
  nb::test::FixedPodLookup lookup;
  auto dropper_cg = tree.add_container(kUidDropper, kCidDropper);
  auto clean_cg = tree.add_container(kUidClean, kCidClean);
  lookup.add(kUidDropper, {"net", "dropper", {{kCidDropper, "app"}}});
  lookup.add(kUidClean, {"net", "clean", {{kCidClean, "app"}}});

  auto reg = nb::test::registry_for({"tcpdrop"}, tree.root(), lookup, std::make_unique<nb::KernelFeatureProbe>());
  reg->start();
  if (!reg->status()["tcpdrop"]) {
    // Kernels before 5.17 have no drop reason: the collector is down by design, say so loudly.
    nb::test::skip_or_fail("skb:kfree_skb has no drop reason on this kernel");
    return;
  }
  auto* drops = dynamic_cast<nb::CgroupMapCollector<tcpdrop_cg_stats>*>(reg->find("tcpdrop"));
  REQUIRE(drops != nullptr);

  nb::test::Signal dropper_ready, clean_ready, stop;
  int dropper = nb::test::spawn_in_cgroup(dropper_cg, [&] {
    stop.close_write();
    // Its own network namespace, whose loopback queue holds nothing: every packet is dropped.
    if (::unshare(CLONE_NEWNET) != 0 || !nb::test::run("ip link set lo up") ||
        !nb::test::run("tc qdisc add dev lo root pfifo limit 0")) {
      ::_exit(20);
    }
    for (int i = 0; i < kConnects; ++i) {
      if (start_connect(9) < 0) {
        ::_exit(21);
      }
    }
    dropper_ready.notify();
    stop.wait();
    ::_exit(0);
  });
  int clean = nb::test::spawn_in_cgroup(clean_cg, [&] {
    stop.close_write();
    // A complete loopback connection in the host namespace: nothing is dropped.
    int l = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    if (l < 0 || ::bind(l, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || ::listen(l, 4) != 0 ||
        ::getsockname(l, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      ::_exit(22);
    }
    int c = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c < 0 || ::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
      ::_exit(23);
    }
    int s = ::accept(l, nullptr, nullptr);
    char b = 'x';
    if (s < 0 || ::write(c, &b, 1) != 1 || ::read(s, &b, 1) != 1) {
      ::_exit(24);
    }
    clean_ready.notify();
    stop.wait();
    ::_exit(0);
  });
  dropper_ready.close_write();
  clean_ready.close_write();
  const bool ready = dropper_ready.wait() && clean_ready.wait();

  const auto dropper_id = nodepack::testing::inode_of(dropper_cg);
  auto dropper_drops = [&] {
    for (const auto& [id, v] : drops->read_cgroups()) {
      if (id == dropper_id) {
        return static_cast<std::uint64_t>(v.drops);
      }
    }
    return std::uint64_t{0};
  };
  const bool seen = nb::test::wait_for([&] { return dropper_drops() >= kConnects; }, 3000);
  auto families = reg->Collect();
  stop.close_write();
  nb::test::wait_all({dropper, clean});
  REQUIRE(ready);
  REQUIRE(seen);

  auto* d = find_metric(families, "kpod_net_tcp_drops_total", {{"pod", "dropper"}, {"container", "app"}});
  REQUIRE(d != nullptr);
  // One SYN per connect is dropped at once; the first SYN retransmission comes after a second
  // (initial RTO), so on a host slow enough to reach it each socket adds at most one more.
  CHECK(d->counter.value >= kConnects);
  CHECK(d->counter.value <= 2 * kConnects);
  auto* c = find_metric(families, "kpod_net_tcp_drops_total", {{"pod", "clean"}});
  if (c != nullptr) {
    CHECK(c->counter.value == 0);
  }
}

TEST_CASE("tcpdrop: the raw_tp programs load where tp_btf is not available", "[bpf][tcpdrop]") {
  NODEPACK_REQUIRE_BPF_OR_SKIP();
  nb::test::KubepodsTree tree;
  nb::test::FixedPodLookup lookup;
  auto real = std::make_unique<nb::KernelFeatureProbe>();
  const bool rx_sk = real->supports("kfree_skb:rx_sk");
  if (!real->supports("kfree_skb:reason")) {
    nb::test::skip_or_fail("skb:kfree_skb has no drop reason on this kernel");
    return;
  }
  auto probe = std::make_unique<nb::FixedFeatureProbe>(
      std::map<std::string, bool, std::less<>>{{"tp_btf:kfree_skb", false}, {"kfree_skb:rx_sk", rx_sk}}, true);
  auto reg = nb::test::registry_for({"tcpdrop"}, tree.root(), lookup, std::move(probe));
  reg->start();
  CHECK(reg->status()["tcpdrop"]);
}

TEST_CASE("tcpdrop: a kernel without drop reasons disables only this collector", "[bpf][tcpdrop]") {
  NODEPACK_REQUIRE_BPF_OR_SKIP();
  nb::test::KubepodsTree tree;
  nb::test::FixedPodLookup lookup;
  auto probe = std::make_unique<nb::FixedFeatureProbe>(
      std::map<std::string, bool, std::less<>>{{"kfree_skb:reason", false}, {"kfree_skb:rx_sk", false}}, true);
  auto reg = nb::test::registry_for({"tcpdrop", "oom"}, tree.root(), lookup, std::move(probe));
  reg->start();
  CHECK_FALSE(reg->status()["tcpdrop"]);
  CHECK(reg->status()["oom"]);
}
