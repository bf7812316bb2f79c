#include "tests/bpf/bpf_registry.hpp"

#include "bpf/runtime.hpp"
#include "bpf/skip_cgroups.hpp"

namespace nodepack::bpf::test {

TestRegistry registry_for(const std::vector<std::string>& collectors, const std::filesystem::path& root,
                          const cgroup::PodLookup& pods, std::unique_ptr<FeatureProbe> probe, kpod::PodScope scope,
                          kpod::CollectorOptions options) {
  auto runtime = std::make_shared<BpfRuntime>(std::move(probe));
  runtime->enable_stats();  // as the agent does once programs run: per-program cost is exported
  auto all = runtime->collectors();
  for (auto& s : kpod::file_collectors()) {
    all.push_back(std::move(s));
  }
  kpod::RegistryOptions opts;
  opts.collectors = std::move(options);
  opts.collectors.node = "test-node";
  opts.profile = kpod::Profile::comprehensive;
  opts.scope = std::move(scope);
  opts.skip_cgroups = [](const std::vector<std::uint64_t>& ids) { SkipCgroups::shared().set(ids); };
  return TestRegistry(opts, root, pods, pick_specs(all, collectors), runtime);
}

}  // namespace nodepack::bpf::test
