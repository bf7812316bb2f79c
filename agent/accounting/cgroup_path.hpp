#pragma once

// Which pod and container a process belongs to, from its /proc/<pid>/cgroup. Written here rather
// than taken from bpf/ because accounting also runs in builds without BPF.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace nodepack::agent::accounting {

struct ContainerCgroup {
  std::string pod_uid;       // with dashes, as metadata.uid
  std::string container_id;  // hex, as in containerStatuses[].containerID after "<runtime>://"
};

// A kubepods cgroup path, systemd ("kubepods-burstable-pod<uid_>.slice/cri-containerd-<id>.scope")
// or cgroupfs driver ("kubepods/burstable/pod<uid>/<id>").
std::optional<ContainerCgroup> parse_container_cgroup(std::string_view cgroup_path);

// The first kubepods container path in the text of /proc/<pid>/cgroup (v2 or v1 lines).
std::optional<ContainerCgroup> container_of_process(const std::filesystem::path& procfs, std::uint32_t pid);

// "containerd://0123abcd" -> "0123abcd".
std::string strip_runtime_prefix(std::string_view container_id);

}  // namespace nodepack::agent::accounting
