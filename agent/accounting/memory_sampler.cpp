#include "agent/accounting/memory_sampler.hpp"

#include "common/files.hpp"
#include "common/strings.hpp"

#include <string>

namespace nodepack::agent::accounting {
namespace {

std::optional<std::uint64_t> read_u64(const std::filesystem::path& p) {
  auto text = read_small_file(p);
  return text ? parse_u64(trim(*text)) : std::nullopt;
}

}  // namespace

MemorySampler::MemorySampler(cgroup::CgroupResolver& resolver, std::function<std::uint64_t()> pods_generation)
    : resolver_(resolver), pods_generation_(std::move(pods_generation)) {}

std::vector<std::pair<ContainerKey, std::uint64_t>> MemorySampler::sample() {
  const auto generation = pods_generation_();
  if (seen_generation_ != generation) {
    seen_generation_ = generation;
    if (resolver_.walks() == seen_walks_) {
      resolver_.rescan();
    }
  }
  seen_walks_ = resolver_.walks();
  std::vector<std::pair<ContainerKey, std::uint64_t>> out;
  for (const auto& cg : *resolver_.live_dirs()) {
    if (cg.level != cgroup::CgroupResolver::Level::container) {
      continue;
    }
    auto id = resolver_.resolve(cg.id);
    if (!id || id->container.empty()) {
      continue;
    }
    if (auto bytes = read_u64(cg.dir / "memory.current")) {
      out.emplace_back(ContainerKey{id->pod_uid, id->container}, *bytes);
    }
  }
  return out;
}

}  // namespace nodepack::agent::accounting
