#include "agent/accounting/cgroup_path.hpp"

#include <fstream>
#include <vector>

namespace nodepack::agent::accounting {
namespace {

bool is_hex(std::string_view s) {
  if (s.size() < 12) {
    return false;
  }
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

std::vector<std::string_view> components(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    const auto slash = path.find('/');
    auto part = path.substr(0, slash);
    if (!part.empty()) {
      out.push_back(part);
    }
    if (slash == std::string_view::npos) {
      break;
    }
    path.remove_prefix(slash + 1);
  }
  return out;
}

std::optional<std::string> pod_uid_of(std::string_view part) {
  if (part.ends_with(".slice")) {
    part.remove_suffix(6);
  }
  const auto pos = part.rfind("pod");
  if (pos == std::string_view::npos) {
    return std::nullopt;
  }
  std::string uid(part.substr(pos + 3));
  for (char& c : uid) {
    if (c == '_') {
      c = '-';  // the systemd driver escapes dashes in unit names
    }
  }
  if (uid.size() != 36) {
    return std::nullopt;
  }
  return uid;
}

std::optional<std::string> container_id_of(std::string_view part) {
  if (part.ends_with(".scope")) {
    part.remove_suffix(6);
  }
  const auto dash = part.rfind('-');
  auto id = dash == std::string_view::npos ? part : part.substr(dash + 1);
  if (!is_hex(id) || part.find("conmon") != std::string_view::npos) {
    return std::nullopt;
  }
  return std::string(id);
}

}  // namespace

std::string strip_runtime_prefix(std::string_view container_id) {
  const auto sep = container_id.find("://");
  return std::string(sep == std::string_view::npos ? container_id : container_id.substr(sep + 3));
}

std::optional<ContainerCgroup> parse_container_cgroup(std::string_view cgroup_path) {
  const auto parts = components(cgroup_path);
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    if (parts[i].find("kubepods") == std::string_view::npos && parts[i].rfind("pod", 0) != 0) {
      continue;
    }
    auto uid = pod_uid_of(parts[i]);
    if (!uid) {
      continue;
    }
    if (auto id = container_id_of(parts[i + 1])) {
      return ContainerCgroup{std::move(*uid), std::move(*id)};
    }
    return std::nullopt;  // the pod-level cgroup (the pause process) or something we do not know
  }
  return std::nullopt;
}

std::optional<ContainerCgroup> container_of_process(const std::filesystem::path& procfs, std::uint32_t pid) {
  std::ifstream in(procfs / std::to_string(pid) / "cgroup");
  for (std::string line; std::getline(in, line);) {
    // "hierarchy-id:controllers:path"; the path may itself contain ':' only in theory.
    const auto first = line.find(':');
    const auto second = first == std::string::npos ? std::string::npos : line.find(':', first + 1);
    if (second == std::string::npos) {
      continue;
    }
    if (auto found = parse_container_cgroup(std::string_view(line).substr(second + 1))) {
      return found;
    }
  }
  return std::nullopt;
}

}  // namespace nodepack::agent::accounting
