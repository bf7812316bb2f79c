// The guard that keeps our cgroup programs from switching off someone else's: a program attached
// the legacy way with BPF_F_ALLOW_OVERRIDE on an ancestor of a kubepods cgroup (as an older CNI's
// socket load balancer or a firewall may be) stops running below wherever another program is
// attached, so such a cgroup is reported and left alone; with BPF_F_ALLOW_MULTI all run together.
#include "bpf/cgroup_attachments.hpp"
#include "tests/support/kernel_env.hpp"

#include <bpf/bpf.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <filesystem>

namespace {

// A cgroup_skb program that lets every packet through: r0 = 1; exit.
int load_allow_all() {
  const bpf_insn insns[] = {
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  return bpf_prog_load(BPF_PROG_TYPE_CGROUP_SKB, "np_allow_all", "GPL", insns, 2, nullptr);
}

// Attaches `prog` to `cgroup` with `flags` for the test's lifetime.
struct LegacyAttachment {
  int cgroup_fd;
  int prog_fd;
  LegacyAttachment(const std::filesystem::path& cgroup, int prog, __u32 flags)
      : cgroup_fd(::open(cgroup.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)), prog_fd(prog) {
    REQUIRE(cgroup_fd >= 0);
    REQUIRE(bpf_prog_attach(prog_fd, cgroup_fd, BPF_CGROUP_INET_EGRESS, flags) == 0);
  }
  ~LegacyAttachment() {
    bpf_prog_detach2(prog_fd, cgroup_fd, BPF_CGROUP_INET_EGRESS);
    ::close(cgroup_fd);
  }
};

}  // namespace

TEST_CASE("cgroup programs: an ancestor's overridable program is found; several allowed, nothing is", "[bpf]") {
  NODEPACK_REQUIRE_BPF_OR_SKIP();
  nodepack::testing::KubepodsTree tree;
  const auto container = tree.add_container("5e1f0000-0000-4000-8000-0000000000c1", std::string(64, 'c'));
  const auto kubepods = tree.root() / "kubepods.slice";
  const int prog = load_allow_all();
  REQUIRE(prog >= 0);

  CHECK_FALSE(nodepack::bpf::overridable_ancestor(container, BPF_CGROUP_INET_EGRESS).has_value());
  {
    LegacyAttachment overridable(kubepods, prog, BPF_F_ALLOW_OVERRIDE);
    const auto owner = nodepack::bpf::overridable_ancestor(container, BPF_CGROUP_INET_EGRESS);
    REQUIRE(owner.has_value());
    CHECK(*owner == kubepods);
    // Another attach type is not concerned.
    CHECK_FALSE(nodepack::bpf::overridable_ancestor(container, BPF_CGROUP_INET_INGRESS).has_value());
    // The cgroup holding it is not below it.
    CHECK_FALSE(nodepack::bpf::overridable_ancestor(kubepods, BPF_CGROUP_INET_EGRESS).has_value());
  }
  CHECK_FALSE(nodepack::bpf::overridable_ancestor(container, BPF_CGROUP_INET_EGRESS).has_value());
  {
    LegacyAttachment shared(kubepods, prog, BPF_F_ALLOW_MULTI);
    CHECK_FALSE(nodepack::bpf::overridable_ancestor(container, BPF_CGROUP_INET_EGRESS).has_value());
  }
  ::close(prog);
}
