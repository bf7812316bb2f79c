#include "tests/bpf/lossy_link.hpp"

#include "bpf/skeleton.hpp"

#include "lossy_link.skel.h"
#include "tests/bpf/lossy_link.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <net/if.h>

#include <catch2/catch.hpp>

#include <cerrno>

namespace nodepack::bpf::test {

namespace {
// "np": the tc filter's handle and priority, fixed so a leftover of a killed run can be named.
constexpr std::uint32_t kHandle = 0x6e70;
constexpr std::uint32_t kPriority = 0x6e70;
}  // namespace

struct LossyLink::Impl {
  Skeleton<lossy_link_bpf> skel;
  bpf_tc_hook hook{};
  bpf_tc_opts opts{};
  bool made_hook = false;  // clsact was not on lo before: removed again at the end
  int config_fd() const { return bpf_map__fd(skel->maps.lossy); }
};

LossyLink::LossyLink() : impl_(std::make_unique<Impl>()) {
  auto skel = Skeleton<lossy_link_bpf>::open();
  if (!skel) {
    FAIL("open the lossy link's BPF object: " << skel.error().message);
  }
  if (auto loaded = skel->load(); !loaded) {
    FAIL("load the lossy link's tc program: " << loaded.error().message);
  }
  impl_->skel = std::move(*skel);
  impl_->hook.sz = sizeof(impl_->hook);
  impl_->hook.ifindex = static_cast<int>(::if_nametoindex("lo"));
  impl_->hook.attach_point = BPF_TC_INGRESS;
  REQUIRE(impl_->hook.ifindex > 0);
  const int made = bpf_tc_hook_create(&impl_->hook);
  REQUIRE((made == 0 || made == -EEXIST));
  impl_->made_hook = made == 0;
  // A tc filter outlives the process that attached it (it is no BPF link): a run killed before
  // its destructor left one on lo. Ours always takes the same handle and priority, so such a
  // leftover is found and removed before this one is attached.
  impl_->opts.sz = sizeof(impl_->opts);
  impl_->opts.handle = kHandle;
  impl_->opts.priority = kPriority;
  const int stale = bpf_tc_detach(&impl_->hook, &impl_->opts);
  REQUIRE((stale == 0 || stale == -ENOENT || stale == -EINVAL));
  impl_->opts.prog_fd = bpf_program__fd(impl_->skel->progs.lossy_ingress);
  REQUIRE(bpf_tc_attach(&impl_->hook, &impl_->opts) == 0);
}

LossyLink::~LossyLink() {
  // Detach takes the handle and priority, and nothing else set.
  impl_->opts.prog_fd = 0;
  impl_->opts.prog_id = 0;
  impl_->opts.flags = 0;
  bpf_tc_detach(&impl_->hook, &impl_->opts);
  if (impl_->made_hook) {
    impl_->hook.attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS);
    bpf_tc_hook_destroy(&impl_->hook);
  }
}

void LossyLink::drop_from(std::uint16_t port, std::uint16_t every) {
  const std::uint32_t key = 0;
  lossy_config config{};
  config.port = port;
  config.every = every;
  REQUIRE(bpf_map_update_elem(impl_->config_fd(), &key, &config, BPF_ANY) == 0);
}

std::uint64_t LossyLink::dropped() const {
  const std::uint32_t key = 0;
  lossy_config config{};
  REQUIRE(bpf_map_lookup_elem(impl_->config_fd(), &key, &config) == 0);
  return config.dropped;
}

}  // namespace nodepack::bpf::test
