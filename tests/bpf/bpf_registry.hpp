#pragma once

// BPF tests' shared setup: the kernel test environment and registries running chosen collectors.

#include "bpf/feature_probe.hpp"
#include "tests/support/kernel_env.hpp"
#include "tests/support/test_registry.hpp"

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace nodepack::bpf::test {

using namespace nodepack::testing;

// A registry running only the named collectors (BPF or file) over `root`, labelled node
// "test-node", every profile included, handing filtered pods' cgroups to the process's skip list
// as the agent does. `options` configures the collectors (its node is replaced by "test-node").
TestRegistry registry_for(const std::vector<std::string>& collectors, const std::filesystem::path& root,
                          const cgroup::PodLookup& pods, std::unique_ptr<FeatureProbe> probe, kpod::PodScope scope = {},
                          kpod::CollectorOptions options = {});

}  // namespace nodepack::bpf::test
