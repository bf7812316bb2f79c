#include "agent/bpf_source.hpp"

namespace nodepack::agent {

std::string container_id_hex(std::string_view container_id) {
  const auto sep = container_id.find("://");
  return std::string(sep == std::string_view::npos ? container_id : container_id.substr(sep + 3));
}

std::optional<bpf::PodInfo> BpfSource::PodsByUid::by_uid(std::string_view uid) const {
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
        info.containers.emplace(container_id_hex(status.container_id), status.name);
      }
    }
  }
  return info;
}

BpfSource::BpfSource(const NodeState& state, bpf::RegistryOptions options)
    : pods_(state), registry_(bpf::CollectorRegistry::create(std::move(options), pods_)) {}

}  // namespace nodepack::agent
