// Real network namespaces: a fake pod's process in its own namespace sends a known number of
// frames over a veth pair; the iface collector charges them to that pod only, and a pod in the
// host's network namespace is not reported.
#include "kpod/registry.hpp"
#include "tests/support/kernel_env.hpp"
#include "tests/support/pod_ns.hpp"
#include "tests/support/test_registry.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <fstream>

namespace nt = nodepack::testing;
using nt::find_metric;

namespace {

const std::string kUidSender = "0f1e2d3c-0000-4000-8000-0000000000c5";
const std::string kUidQuiet = "0f1e2d3c-0000-4000-8000-0000000000d5";
const std::string kUidHost = "0f1e2d3c-0000-4000-8000-0000000000e5";
const std::string kCidSender = std::string(60, 'c') + "0005";
const std::string kCidQuiet = std::string(60, 'd') + "0005";
const std::string kCidHost = std::string(60, 'e') + "0005";

constexpr int kFrames = 25;
constexpr std::size_t kFrameBytes = 200;  // Ethernet header (14) + 186 bytes of payload

// In a fresh network namespace: IPv6 off (no router solicitations or MLD reports of its own),
// then a veth pair, both ends up and without addresses, so the only traffic is what we send.
bool make_quiet_veth(const std::string& a, const std::string& b) {
  for (const char* knob :
       {"/proc/sys/net/ipv6/conf/default/disable_ipv6", "/proc/sys/net/ipv6/conf/all/disable_ipv6"}) {
    std::ofstream(knob) << "1" << std::flush;  // absent without IPv6: nothing to silence
  }
  if (!nt::run("ip link add " + a + " type veth peer name " + b) || !nt::run("ip link set " + a + " up") ||
      !nt::run("ip link set " + b + " up")) {
    return false;
  }
  // The carrier comes up asynchronously (link watch); until then the device's queue discards
  // what is sent. Wait for both ends to be operationally up.
  return nt::wait_for(
      [&] {
        return nt::run("ip link show dev " + a + " | grep -q 'state UP'") &&
               nt::run("ip link show dev " + b + " | grep -q 'state UP'");
      },
      3000);
}

bool send_frames(const std::string& ifname, int n) {
  int fd = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
  if (fd < 0) {
    return false;
  }
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_ifindex = static_cast<int>(::if_nametoindex(ifname.c_str()));
  to.sll_halen = ETH_ALEN;
  std::array<unsigned char, kFrameBytes> frame{};
  for (int i = 0; i < 6; ++i) {
    frame[i] = 0xff;                                      // broadcast destination
    frame[6 + i] = static_cast<unsigned char>(0x02 + i);  // locally administered source
  }
  frame[12] = 0x88;  // EtherType 0x88B5: IEEE local experimental, no handler in the kernel
  frame[13] = 0xb5;
  for (int i = 0; i < n; ++i) {
    if (::sendto(fd, frame.data(), frame.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)) !=
        static_cast<ssize_t>(frame.size())) {
      ::close(fd);
      return false;
    }
  }
  ::close(fd);
  return true;
}

}  // namespace

TEST_CASE("iface: frames sent in a pod's network namespace land on that pod only", "[bpf][iface]") {
  NODEPACK_REQUIRE_ROOT_OR_SKIP();  // root and cgroup v2 (no BPF program is loaded here)
  if (!nt::run("ip -V")) {
    nt::skip_or_fail("iproute2's ip command is not installed");
    return;
  }
  nt::KubepodsTree tree;
  nt::FixedPodLookup lookup;
  auto sender_cg = tree.add_container(kUidSender, kCidSender);
  auto quiet_cg = tree.add_container(kUidQuiet, kCidQuiet);
  auto host_cg = tree.add_container(kUidHost, kCidHost);
  lookup.add(kUidSender, {"net", "sender", {{kCidSender, "app"}}});
  lookup.add(kUidQuiet, {"net", "quiet", {{kCidQuiet, "app"}}});
  lookup.add(kUidHost, {"net", "hostnet", {{kCidHost, "app"}}});

  nt::Signal sender_ready, quiet_ready, host_ready, stop;
  auto in_new_netns = [&stop](nt::Signal& ready, const std::string& a, const std::string& b, int frames) {
    return [&stop, &ready, a, b, frames] {
      stop.close_write();
      if (::unshare(CLONE_NEWNET) != 0 || !make_quiet_veth(a, b) || !send_frames(a, frames)) {
        ::_exit(20);
      }
      ready.notify();
      stop.wait();
      ::_exit(0);
    };
  };
  std::vector<int> pids;
  pids.push_back(nt::spawn_in_cgroup(sender_cg, in_new_netns(sender_ready, "np0", "np1", kFrames)));
  pids.push_back(nt::spawn_in_cgroup(quiet_cg, in_new_netns(quiet_ready, "nq0", "nq1", 0)));
  pids.push_back(nt::spawn_in_cgroup(host_cg, [&] {
    stop.close_write();
    host_ready.notify();
    stop.wait();
    ::_exit(0);
  }));
  for (auto* s : {&sender_ready, &quiet_ready, &host_ready}) {
    s->close_write();
  }
  const bool ready = sender_ready.wait() && quiet_ready.wait() && host_ready.wait();

  nodepack::kpod::RegistryOptions opts;
  opts.collectors.node = "test-node";
  opts.profile = nodepack::kpod::Profile::comprehensive;
  nt::TestRegistry reg(opts, tree.root(), lookup, nt::pick_specs(nodepack::kpod::file_collectors(), {"iface"}));
  reg->start();
  REQUIRE(reg->status()["iface"]);
  reg->rescan();
  auto families = reg->Collect();
  stop.close_write();
  nt::wait_all(pids);
  REQUIRE(ready);

  auto value = [&](const char* name, const char* pod, const char* iface) {
    auto* m = find_metric(families, name, {{"namespace", "net"}, {"pod", pod}, {"interface", iface}});
    REQUIRE(m != nullptr);
    return m->counter.value;
  };
  // The sending end transmitted exactly our frames, the peer received them; nothing else moved.
  CHECK(value("kpod_net_iface_tx_packets_total", "sender", "np0") == kFrames);
  CHECK(value("kpod_net_iface_tx_bytes_total", "sender", "np0") == kFrames * kFrameBytes);
  CHECK(value("kpod_net_iface_rx_packets_total", "sender", "np1") == kFrames);
  CHECK(value("kpod_net_iface_rx_bytes_total", "sender", "np1") == kFrames * kFrameBytes);
  CHECK(value("kpod_net_iface_rx_packets_total", "sender", "np0") == 0);
  CHECK(value("kpod_net_iface_tx_errors_total", "sender", "np0") == 0);
  // The neighbour sees only its own, idle, interfaces.
  CHECK(value("kpod_net_iface_tx_packets_total", "quiet", "nq0") == 0);
  CHECK(value("kpod_net_iface_rx_packets_total", "quiet", "nq1") == 0);
  CHECK(find_metric(families, "kpod_net_iface_tx_packets_total", {{"pod", "quiet"}, {"interface", "np0"}}) == nullptr);
  CHECK(find_metric(families, "kpod_net_iface_tx_packets_total", {{"pod", "sender"}, {"interface", "lo"}}) == nullptr);
  // Host network: not reported (its counters are the node's).
  CHECK(find_metric(families, "kpod_net_iface_rx_bytes_total", {{"pod", "hostnet"}}) == nullptr);
}
