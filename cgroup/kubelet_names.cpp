#include "cgroup/kubelet_names.hpp"

#include <algorithm>
#include <cctype>

namespace nodepack::cgroup {
namespace {

bool is_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; });
}

bool is_uid_like(std::string_view s) {
  return s.size() >= 8 && std::all_of(s.begin(), s.end(), [](char c) {
           return std::isxdigit(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_';
         });
}

bool strip_suffix(std::string_view& s, std::string_view suffix) {
  if (s.ends_with(suffix)) {
    s.remove_suffix(suffix.size());
    return true;
  }
  return false;
}

}  // namespace

bool is_kubepods_dir(std::string_view name) { return name == "kubepods" || name.ends_with("kubepods.slice"); }

bool is_qos_dir(std::string_view name) {
  return name == "burstable" || name == "besteffort" || name.ends_with("-burstable.slice") ||
         name.ends_with("-besteffort.slice");
}

std::optional<std::string> parse_pod_dir(std::string_view name) {
  std::string_view s = name;
  if (strip_suffix(s, ".slice")) {
    // systemd driver: kubepods-burstable-pod<uid with underscores>.slice, kubepods-pod<uid>.slice
    auto at = s.rfind("-pod");
    if (at == std::string_view::npos) {
      return std::nullopt;
    }
    s.remove_prefix(at + 4);
  } else if (s.starts_with("pod")) {
    s.remove_prefix(3);  // cgroupfs driver: pod<uid>
  } else {
    return std::nullopt;
  }
  if (!is_uid_like(s)) {
    return std::nullopt;
  }
  std::string uid(s);
  std::replace(uid.begin(), uid.end(), '_', '-');  // systemd escapes dashes in unit names
  return uid;
}

std::vector<std::filesystem::path> pod_dir_candidates(const std::filesystem::path& kubepods, const std::string& uid) {
  std::string name = kubepods.filename().string();
  if (std::string_view base = name; base.ends_with(".slice")) {
    base.remove_suffix(6);
    std::string underscored = uid;
    std::replace(underscored.begin(), underscored.end(), '-', '_');
    const std::string b(base);
    return {kubepods / (b + "-pod" + underscored + ".slice"),
            kubepods / (b + "-burstable.slice") / (b + "-burstable-pod" + underscored + ".slice"),
            kubepods / (b + "-besteffort.slice") / (b + "-besteffort-pod" + underscored + ".slice")};
  }
  return {kubepods / ("pod" + uid), kubepods / "burstable" / ("pod" + uid), kubepods / "besteffort" / ("pod" + uid)};
}

std::optional<std::string> parse_container_dir(std::string_view name) {
  std::string_view s = name;
  strip_suffix(s, ".scope");
  if (s.starts_with("crio-conmon-")) {
    return std::nullopt;  // CRI-O's monitor process, not the container
  }
  for (std::string_view prefix : {"cri-containerd-", "crio-", "docker-", "containerd-"}) {
    if (s.starts_with(prefix)) {
      s.remove_prefix(prefix.size());
      break;
    }
  }
  if (s.size() < 12 || s.size() > 64 || !is_hex(s)) {
    return std::nullopt;
  }
  std::string id(s);
  std::transform(id.begin(), id.end(), id.begin(), [](unsigned char c) { return std::tolower(c); });
  return id;
}

std::string strip_runtime_prefix(std::string_view container_id) {
  const auto sep = container_id.find("://");
  return std::string(sep == std::string_view::npos ? container_id : container_id.substr(sep + 3));
}

std::optional<ContainerCgroup> parse_container_cgroup(std::string_view cgroup_path) {
  // The first component naming a pod, then the one after it naming a container.
  std::optional<std::string> pod;
  while (!cgroup_path.empty()) {
    const auto slash = cgroup_path.find('/');
    const auto part = cgroup_path.substr(0, slash);
    cgroup_path = slash == std::string_view::npos ? std::string_view() : cgroup_path.substr(slash + 1);
    if (part.empty()) {
      continue;
    }
    if (pod) {
      auto id = parse_container_dir(part);
      if (!id) {
        return std::nullopt;  // below the pod, but not a container (the pause process's own)
      }
      return ContainerCgroup{std::move(*pod), std::move(*id)};
    }
    pod = parse_pod_dir(part);
  }
  return std::nullopt;  // no pod, or the pod-level cgroup itself
}

}  // namespace nodepack::cgroup
