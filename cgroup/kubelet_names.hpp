#pragma once

// How the kubelet and the container runtimes name pod and container cgroups, parsed in one place
// for the cgroup walk and for /proc/<pid>/cgroup lines alike:
//   systemd driver:  kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid_>.slice/
//                    cri-containerd-<id>.scope
//   cgroupfs driver: kubepods/burstable/pod<uid>/<id>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nodepack::cgroup {

// The pod UID (with dashes) of a pod cgroup directory name.
std::optional<std::string> parse_pod_dir(std::string_view name);
// The container ID (lower-case hex) of a container cgroup directory name; nullopt for anything
// else, CRI-O's conmon included.
std::optional<std::string> parse_container_dir(std::string_view name);
bool is_kubepods_dir(std::string_view name);
bool is_qos_dir(std::string_view name);

// Where pod `uid`'s directory can be under the kubepods directory `kubepods`, one path per QoS
// class (Guaranteed right under it), named as the kubelet names them, so a pod is found without
// reading a listing: the reverse of parse_pod_dir. The systemd driver prefixes each slice with
// its parent's name ("kubepods-burstable-pod<uid with underscores>.slice",
// "kubelet-kubepods-pod<...>.slice" under a nested "kubelet-kubepods.slice").
std::vector<std::filesystem::path> pod_dir_candidates(const std::filesystem::path& kubepods, const std::string& uid);

// "containerd://0123abcd" -> "0123abcd": a status's containerID as the runtime names its cgroup.
std::string strip_runtime_prefix(std::string_view container_id);

struct ContainerCgroup {
  std::string pod_uid;       // with dashes, as metadata.uid
  std::string container_id;  // hex, as in containerStatuses[].containerID after "<runtime>://"
};

// A cgroup path below kubepods naming a container ("/kubepods.slice/.../cri-containerd-<id>.scope");
// nullopt for the pod level and for paths that are not a pod's.
std::optional<ContainerCgroup> parse_container_cgroup(std::string_view cgroup_path);

}  // namespace nodepack::cgroup
