#include "agent/accounting/memory_sampler.hpp"

#include "agent/accounting/cgroup_path.hpp"

#if NODEPACK_HAVE_BPF
#include "bpf/cgroup_resolver.hpp"
#include "bpf/pod_lookup.hpp"
#endif

#include <charconv>
#include <fstream>
#include <string>

namespace nodepack::agent::accounting {

#if NODEPACK_HAVE_BPF
namespace {

class PodsByUid final : public bpf::PodLookup {
 public:
  explicit PodsByUid(const NodeState& state) : state_(state) {}
  std::optional<bpf::PodInfo> by_uid(std::string_view uid) const override {
    auto stored = state_.pods().find(std::string(uid));
    if (!stored) {
      return std::nullopt;
    }
    bpf::PodInfo info;
    info.namespace_name = stored->pod.namespace_name;
    info.name = stored->pod.name;
    for (const auto* statuses : {&stored->pod.container_statuses, &stored->pod.init_container_statuses}) {
      for (const auto& status : *statuses) {
        if (!status.container_id.empty()) {
          info.containers.emplace(strip_runtime_prefix(status.container_id), status.name);
        }
      }
    }
    return info;
  }

 private:
  const NodeState& state_;
};

std::optional<std::uint64_t> read_u64(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::string text;
  if (!(in >> text)) {
    return std::nullopt;
  }
  std::uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || ptr != text.data() + text.size()) {
    return std::nullopt;
  }
  return v;
}

}  // namespace

struct MemorySampler::Impl {
  Impl(const NodeState& s) : state(s), lookup(s) {}
  const NodeState& state;
  PodsByUid lookup;
  std::unique_ptr<bpf::CgroupResolver> resolver;
  std::optional<std::uint64_t> seen_generation;
};

Result<std::unique_ptr<MemorySampler>> MemorySampler::create(const HostPaths& paths, const NodeState& state) {
  auto impl = std::make_unique<Impl>(state);
  auto resolver = bpf::CgroupResolver::create(paths, impl->lookup);
  if (!resolver) {
    return resolver.error();
  }
  impl->resolver = std::move(*resolver);
  return std::unique_ptr<MemorySampler>(new MemorySampler(std::move(impl)));
}

Result<std::unique_ptr<MemorySampler>> MemorySampler::at(const std::filesystem::path& v2_root, const NodeState& state) {
  auto impl = std::make_unique<Impl>(state);
  impl->resolver = std::make_unique<bpf::CgroupResolver>(v2_root, impl->lookup);
  return std::unique_ptr<MemorySampler>(new MemorySampler(std::move(impl)));
}

std::vector<std::pair<ContainerKey, std::uint64_t>> MemorySampler::sample() {
  auto& r = *impl_->resolver;
  const auto generation = impl_->state.pods().totals().generation;
  if (impl_->seen_generation != generation) {
    impl_->seen_generation = generation;
    r.rescan();
    r.release(r.removed());  // nothing here exports values of removed cgroups
  }
  std::vector<std::pair<ContainerKey, std::uint64_t>> out;
  for (const auto& cg : r.live_dirs()) {
    if (cg.level != bpf::CgroupResolver::Level::container) {
      continue;
    }
    auto id = r.resolve(cg.id);
    if (!id || id->container.empty()) {
      continue;
    }
    if (auto bytes = read_u64(cg.dir / "memory.current")) {
      out.emplace_back(ContainerKey{id->pod_uid, id->container}, *bytes);
    }
  }
  return out;
}

#else

struct MemorySampler::Impl {};

Result<std::unique_ptr<MemorySampler>> MemorySampler::create(const HostPaths&, const NodeState&) {
  return fail("this nodepack was built without BPF support, which also reads the cgroup tree");
}

Result<std::unique_ptr<MemorySampler>> MemorySampler::at(const std::filesystem::path&, const NodeState&) {
  return fail("this nodepack was built without BPF support, which also reads the cgroup tree");
}

std::vector<std::pair<ContainerKey, std::uint64_t>> MemorySampler::sample() { return {}; }

#endif

MemorySampler::MemorySampler(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MemorySampler::~MemorySampler() = default;

}  // namespace nodepack::agent::accounting
