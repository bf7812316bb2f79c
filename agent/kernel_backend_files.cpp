#include "agent/kernel_backend.hpp"

namespace nodepack::agent {
namespace {

class FilesBackend final : public KernelBackend {
 public:
  std::vector<kpod::CollectorSpec> collectors() override { return kpod::file_collectors(); }
  void started(const kpod::CollectorRegistry&) override {}
  std::shared_ptr<prometheus::Collectable> collector() override { return nullptr; }
  bool has_bpf() const override { return false; }
};

}  // namespace

std::unique_ptr<KernelBackend> KernelBackend::create(const Clock&, BpfStatsPolicy) {
  return std::make_unique<FilesBackend>();
}

std::vector<kpod::CollectorSpec> kernel_collector_specs() { return kpod::file_collectors(); }

}  // namespace nodepack::agent
