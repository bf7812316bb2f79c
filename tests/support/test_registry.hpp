#pragma once

// A kpod collector registry as the agent builds one, owning the cgroup resolver it shares with
// nobody here: `reg->start()`, `reg->Collect()`, `*reg` as a CollectorRegistry.

#include "cgroup/resolver.hpp"
#include "kpod/registry.hpp"

#include <filesystem>
#include <memory>
#include <vector>

namespace nodepack::testing {

class TestRegistry {
 public:
  // `root` is taken as the cgroup v2 root as is (fixture trees are plain directories).
  TestRegistry(kpod::RegistryOptions options, const std::filesystem::path& root, const cgroup::PodLookup& pods,
               std::vector<kpod::CollectorSpec> specs, std::shared_ptr<void> keep_alive = nullptr)
      : keep_alive_(std::move(keep_alive)),
        resolver_(std::make_unique<cgroup::CgroupResolver>(root, pods)),
        registry_(std::make_unique<kpod::CollectorRegistry>(std::move(options), resolver_.get(), std::move(specs))) {}

  kpod::CollectorRegistry* operator->() const { return registry_.get(); }
  kpod::CollectorRegistry& operator*() const { return *registry_; }
  cgroup::CgroupResolver& resolver() const { return *resolver_; }

 private:
  std::shared_ptr<void> keep_alive_;  // what the specs' factories refer to (a BPF feature probe)
  std::unique_ptr<cgroup::CgroupResolver> resolver_;
  std::unique_ptr<kpod::CollectorRegistry> registry_;
};

// The specs named, in the order given, from `all`; every name must be there.
std::vector<kpod::CollectorSpec> pick_specs(const std::vector<kpod::CollectorSpec>& all,
                                            const std::vector<std::string>& names);

}  // namespace nodepack::testing
