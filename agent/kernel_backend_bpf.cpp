#include "agent/kernel_backend.hpp"
#include "bpf/runtime.hpp"
#include "bpf/skip_cgroups.hpp"

namespace nodepack::agent {
namespace {

class BpfBackend final : public KernelBackend {
 public:
  BpfBackend() : runtime_(std::make_shared<bpf::BpfRuntime>(std::make_unique<bpf::KernelFeatureProbe>())) {}

  std::vector<kpod::CollectorSpec> collectors() override {
    auto specs = runtime_->collectors();
    for (auto& s : kpod::file_collectors()) {
      specs.push_back(std::move(s));
    }
    return specs;
  }
  void started(const kpod::CollectorRegistry& registry) override {
    if (registry.any_running(true)) {
      runtime_->enable_stats();
    }
  }
  std::shared_ptr<prometheus::Collectable> collector() override { return runtime_; }
  bool has_bpf() const override { return true; }
  std::function<void(const std::vector<std::uint64_t>&)> skip_cgroups() override {
    return [](const std::vector<std::uint64_t>& ids) { bpf::SkipCgroups::shared().set(ids); };
  }

 private:
  std::shared_ptr<bpf::BpfRuntime> runtime_;
};

}  // namespace

std::unique_ptr<KernelBackend> KernelBackend::create() { return std::make_unique<BpfBackend>(); }

std::vector<kpod::CollectorSpec> kernel_collector_specs() { return BpfBackend().collectors(); }

}  // namespace nodepack::agent
