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

std::unique_ptr<KernelBackend> KernelBackend::create() { return std::make_unique<FilesBackend>(); }

std::vector<std::string> kernel_collector_names() {
  std::vector<std::string> names;
  for (const auto& s : kpod::file_collectors()) {
    names.push_back(s.name);
  }
  return names;
}

}  // namespace nodepack::agent
